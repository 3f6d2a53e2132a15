import NNCore

/// 2-D convolution (torch.nn.Conv2d, cross-correlation, NCHW): weight `[out, in, kh, kw]`,
/// bias `[out]`, stride, zero padding, dilation; the activation is fused into the bias pass.
///
/// Lowered to one sgemm per batch: im2col gives `cols [in·kh·kw, B·H'·W']` (kept for
/// backward), z = W·cols `[out, B·H'·W']`, then each sample's `[out, H'·W']` block moves to NCHW.
/// H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1. Backward: dz goes to `[out, B·H'·W']`,
/// dW = dz·colsᵀ, db = Σ dz, dcols = Wᵀ·dz (into the cols buffer, no longer needed), dx = col2im.
public final class Conv2D: Layer {
    public let name: String
    public let inChannels: Int, outChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    public let activation: Activation
    public let weight: Parameter
    public let bias: Parameter?
    public let gain: Parameter?
    public let outputShape: Shape
    let inH: Int, inW: Int, outH: Int, outW: Int
    private var norm: WeightNorm?
    private var output: BatchBuffer!
    private var preActivation: BatchBuffer?
    private var cols: TensorStorage!
    /// `[out, B·H'·W']`: the GEMM's output before it moves to NCHW, and dz in that layout.
    private var wide: TensorStorage!
    private var inputGrad: BatchBuffer!
    private var lastInput: Tensor?
    private var lastOutput: Tensor?

    /// `[in·kh·kw]`: the fan-in of one output unit.
    var patch: Int { inChannels * kernel.0 * kernel.1 }

    public init(name: String, inputShape: [Int], outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), activation: Activation = .linear,
                useBias: Bool = true, initialization: InitSpec, biasInit: Float = 0, weightNorm: Bool = false,
                rng: inout Xoshiro256) {
        self.name = name
        inChannels = inputShape[0]
        inH = inputShape[1]
        inW = inputShape[2]
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.activation = activation
        outH = Conv2D.outputSize(inH, kernel.0, stride.0, padding.0, dilation.0)
        outW = Conv2D.outputSize(inW, kernel.1, stride.1, padding.1, dilation.1)
        outputShape = Shape([outChannels, outH, outW])
        let fanIn = inputShape[0] * kernel.0 * kernel.1
        let w = Tensor(zeros: [outChannels, inputShape[0], kernel.0, kernel.1])
        initialization.fill(w, fanIn: fanIn, fanOut: outChannels * kernel.0 * kernel.1, activation: activation, rng: &rng)
        if weightNorm {
            weight = Parameter(name: name + ".weight_v", value: w, decays: true, rows: outChannels)
            gain = Parameter(name: name + ".weight_g", value: WeightNorm.initialGains(w, rows: outChannels, shape: [outChannels, 1, 1, 1]),
                             decays: false)
            norm = WeightNorm(rows: outChannels, cols: fanIn)
        } else {
            weight = Parameter(name: name + ".weight", value: w, decays: true, rows: outChannels)
            gain = nil
        }
        if useBias {
            let b = Tensor(zeros: [outChannels])
            b.fill(biasInit)
            bias = Parameter(name: name + ".bias", value: b, decays: false)
        } else {
            bias = nil
        }
    }

    public static func outputSize(_ n: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int {
        (n + 2 * p - d * (k - 1) - 1) / s + 1
    }

    public var parameters: [Parameter] { [gain, weight, bias].compactMap { $0 } }
    var weightMatrix: UnsafeMutablePointer<Float> { norm?.effective.pointer ?? weight.value.pointer }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample([inChannels, inH, inW]), maxBatch: maxBatch)
        cols = TensorStorage(capacity: maxBatch * patch * outH * outW)
        wide = TensorStorage(capacity: maxBatch * outChannels * outH * outW)
        if activation.needsInput { preActivation = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch) }
    }

    /// For kernel column j: the input offset j·d − p, and the range first..<last of output
    /// columns ox whose input column ox·s + offset lies inside [0, W).
    @inline(__always)
    func columns(_ j: Int) -> (offset: Int, first: Int, last: Int) {
        let offset = j * dilation.1 - padding.1
        let first = offset >= 0 ? 0 : (-offset + stride.1 - 1) / stride.1
        let last = min(outW, inW - offset <= 0 ? 0 : (inW - offset - 1) / stride.1 + 1)
        return (offset, first, last)
    }

    /// cols[(c·kh + i)·kw + j, oy·W' + ox] = x[c, oy·s − p + i·d, ox·s − p + j·d] (0 outside);
    /// rows are `rowStride` apart (B·H'·W' when the batch shares one matrix).
    func im2col(_ x: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, rowStride: Int) {
        for ch in 0..<inChannels {
            for i in 0..<kernel.0 {
                for j in 0..<kernel.1 {
                    let row = c + ((ch * kernel.0 + i) * kernel.1 + j) * rowStride
                    let (offset, first, last) = columns(j)
                    for oy in 0..<outH {
                        let y = oy * stride.0 - padding.0 + i * dilation.0
                        let dst = row + oy * outW
                        if y < 0 || y >= inH || first >= last {
                            dst.update(repeating: 0, count: outW)
                            continue
                        }
                        let src = x + (ch * inH + y) * inW + offset
                        for ox in 0..<first { dst[ox] = 0 }
                        if stride.1 == 1 {
                            (dst + first).update(from: src + first, count: last - first)
                        } else {
                            let s = stride.1
                            for ox in first..<last { dst[ox] = src[ox * s] }
                        }
                        for ox in last..<outW { dst[ox] = 0 }
                    }
                }
            }
        }
    }

    /// The adjoint of im2col: adds each column entry back to the input position it came from.
    func col2im(_ c: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rowStride: Int) {
        dx.update(repeating: 0, count: inChannels * inH * inW)
        for ch in 0..<inChannels {
            for i in 0..<kernel.0 {
                for j in 0..<kernel.1 {
                    let row = c + ((ch * kernel.0 + i) * kernel.1 + j) * rowStride
                    let (offset, first, last) = columns(j)
                    if first >= last { continue }
                    let s = stride.1
                    for oy in 0..<outH {
                        let y = oy * stride.0 - padding.0 + i * dilation.0
                        if y < 0 || y >= inH { continue }
                        let dst = dx + (ch * inH + y) * inW + offset
                        let src = row + oy * outW
                        if s == 1 {
                            for ox in first..<last { dst[ox] += src[ox] }  // contiguous: vectorised
                        } else {
                            for ox in first..<last { dst[ox * s] += src[ox] }
                        }
                    }
                }
            }
        }
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        let y = output.view(batch: batch)
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        let spatial = outH * outW
        let inSize = inChannels * inH * inW, outSize = outChannels * spatial
        let width = batch * spatial
        let xp = input.pointer, cp = cols.base, wp = wide.base
        // Samples are independent outside the GEMM: im2col and the output layout, bias and
        // activation run over sample blocks on the worker pool.
        let sampleMinimum = max(2, 65_536 / max(1, outSize))
        Parallel.chunks(batch, minimum: sampleMinimum, align: 1) { r in
            for b in r { self.im2col(xp + b * inSize, cp + b * spatial, rowStride: width) }
        }
        gemm(m: outChannels, n: width, k: patch, weightMatrix, cols.base, wide.base)
        // [out, B·S] back to [B, out, S], with the bias per channel and the activation.
        let yp = y.pointer, pre = preActivation?.view(batch: batch).pointer
        let bp = bias?.value.pointer, f = activation, oc = outChannels
        Parallel.chunks(batch, minimum: sampleMinimum, align: 1) { r in
            for b in r {
                for o in 0..<oc {
                    let off = (b * oc + o) * spatial
                    let src = wp + o * width + b * spatial, dst = yp + off
                    let bo = bp?[o] ?? 0
                    for k in 0..<spatial { dst[k] = src[k] + bo }
                    if let pre { (pre + off).update(from: dst, count: spatial) }
                    ActivationKernels.apply(f, dst, dst, count: spatial)
                }
            }
        }
        lastInput = input
        lastOutput = y
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let x = lastInput, let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let batch = x.shape[0]
        let spatial = outH * outW
        let inSize = inChannels * inH * inW, outSize = outChannels * spatial
        let dz = outputGrad.pointer
        let f = activation, yp = y.pointer, oc = outChannels, wp = wide.base
        let pre = preActivation.map { UnsafePointer($0.view(batch: batch).pointer) }
        let sampleMinimum = max(2, 65_536 / max(1, outSize))
        let width = batch * spatial
        // Per sample block: the activation's gradient, and dz to [out, B·S] for the GEMMs.
        Parallel.chunks(batch, minimum: sampleMinimum, align: 1) { r in
            let o0 = r.lowerBound * outSize
            ActivationKernels.backward(f, x: pre.map { $0 + o0 }, y: yp + o0, dy: dz + o0, dx: dz + o0, count: r.count * outSize)
            for b in r {
                for o in 0..<oc { (wp + o * width + b * spatial).update(from: dz + b * outSize + o * spatial, count: spatial) }
            }
        }
        if let bias {
            // Per channel block: the sum over the batch of each channel's row of the [out, B·S] copy.
            let db = bias.grad.pointer
            Parallel.chunks(oc, minimum: width * oc >= 65_536 ? 2 : oc + 1, align: 1) { r in
                for o in r { db[o] = Kernels.sum(wp + o * width, count: width) }
            }
        }
        let dw = weight.grad.pointer
        // dW = dz · colsᵀ ([out, B·S] · [B·S, patch]).
        gemm(transposeB: true, m: outChannels, n: patch, k: width, wide.base, cols.base, dw)
        if let gain, let norm { norm.backward(v: weight.value.pointer, g: gain.value.pointer, dv: dw, dg: gain.grad.pointer) }
        guard needsInputGradient else { return nil }
        let dx = inputGrad.view(batch: batch)
        // dcols = Wᵀ [patch, out] · dz [out, B·S], into the cols buffer (dW no longer needs it).
        gemm(transposeA: true, m: patch, n: width, k: outChannels, weightMatrix, wide.base, cols.base)
        let cp = cols.base, dxp = dx.pointer
        Parallel.chunks(batch, minimum: max(2, 65_536 / max(1, inSize)), align: 1) { r in
            for b in r { self.col2im(cp + b * spatial, dxp + b * inSize, rowStride: width) }
        }
        return dx
    }
}
