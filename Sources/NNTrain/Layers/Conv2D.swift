import CSupport
import NNCore

/// `{"type": "conv2d", "out_channels": 32, "kernel_size": 3}`: a 2-D convolution (`Conv2D`)
/// on an image input `[C, H, W]`, output `[out, H', W']` with
/// H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1; `padding` nil means "same" (p = d(k − 1)/2, stride 1,
/// an odd k). Parameters: out·C·kh·kw + out (bias) + out (weight-norm gains).
public struct Conv2DSpec: LayerKind {
    public var outChannels: Int
    public var kernel: [Int], stride: [Int]
    public var padding: [Int]?
    public var dilation: [Int]
    public var activation: Activation
    public var bias: Bool
    public var weightNorm: Bool
    public var layerOptions: LayerOptions

    public init(outChannels: Int, kernel: [Int], stride: [Int] = [1, 1], padding: [Int]? = nil, dilation: [Int] = [1, 1],
                activation: Activation = .linear, bias: Bool = true, weightNorm: Bool = false, options: LayerOptions = LayerOptions()) {
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.activation = activation
        self.bias = bias
        self.weightNorm = weightNorm
        layerOptions = options
    }

    public static let typeNames = ["conv2d"]

    public static func read(_ r: ObjectReader, type: String) -> Conv2DSpec {
        let out = r.int("out_channels", default: 1, check: .closed(1, 65536))
        if !r.has("out_channels") { r.diagnostics.error(r.childPath("out_channels"), "missing required key (expected integer >= 1)") }
        let k = r.sizePair("kernel_size", 3, min: 1)
        let s = r.sizePair("stride", 1, min: 1)
        var padding: [Int]? = nil
        if case .string? = r.raw("padding") {
            _ = r.choice("padding", ["same", "valid"], default: "same")
            if r.raw("padding") == .string("valid") { padding = [0, 0] }
        } else if r.has("padding") {
            padding = r.sizePair("padding", 0, min: 0)
        } else {
            r.record("padding", .string("same"))
        }
        let d = r.sizePair("dilation", 1, min: 1)
        let act = Activation.read(r, "activation", default: .linear)
        let bias = r.bool("bias", default: true)
        let wn = r.bool("weight_norm", default: false)
        return Conv2DSpec(outChannels: out, kernel: k, stride: s, padding: padding, dilation: d, activation: act, bias: bias,
                          weightNorm: wn, options: LayerOptions.read(r, hasBias: bias))
    }

    public var options: LayerOptions? { layerOptions }
    public var linearity: Linearity { .linearMap(then: activation) }
    public var outputActivation: OutputActivation { .fused(activation) }

    /// The padding as numbers ("same": d(k − 1)/2 each side).
    var resolvedPadding: [Int] { padding ?? [dilation[0] * (kernel[0] - 1) / 2, dilation[1] * (kernel[1] - 1) / 2] }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        let (k, s, d, out) = (kernel, stride, dilation, outChannels)
        guard model.needImage(shape, "conv2d", at: site) else { return nil }
        if padding == nil && (s[0] != 1 || s[1] != 1) {
            model.errors.append(ConfigError(path: site.path + ".padding", message: "\"same\" padding needs stride 1, got stride \(s); give the padding as a number"))
            return nil
        }
        let p = resolvedPadding
        if padding == nil && ((d[0] * (k[0] - 1)) % 2 != 0 || (d[1] * (k[1] - 1)) % 2 != 0) {
            model.errors.append(ConfigError(path: site.path + ".padding", message: "\"same\" padding needs an odd kernel size, got \(k); give the padding as a number"))
            return nil
        }
        let h = Conv2D.outputSize(shape[1], k[0], s[0], p[0], d[0]), w = Conv2D.outputSize(shape[2], k[1], s[1], p[1], d[1])
        guard h >= 1 && w >= 1 else {
            model.errors.append(ConfigError(path: site.path, message: "kernel \(k) (dilation \(d)) does not fit the input \(shape) with padding \(p): the output would be \(h)×\(w)"))
            return nil
        }
        let params = out * shape[0] * k[0] * k[1] + (bias ? out : 0) + (weightNorm ? out : 0)
        let desc = "conv2d \(shape[0])→\(out) \(k[0])×\(k[1])" + (s != [1, 1] ? " /\(s[0])" : "") + (activation == .linear ? "" : ", \(activation)")
            + (weightNorm ? ", weight norm" : "")
        model.warnIfSymmetric(layerOptions, at: site)
        return LayerPlan(output: [out, h, w], parameters: params, description: desc)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        let p = resolvedPadding
        return Conv2D(name: site.name, inputShape: shape, outChannels: outChannels, kernel: (kernel[0], kernel[1]),
                      stride: (stride[0], stride[1]), padding: (p[0], p[1]), dilation: (dilation[0], dilation[1]),
                      activation: activation, useBias: bias, initialization: layerOptions.initialization ?? site.defaultInit,
                      biasInit: layerOptions.biasInit, weightNorm: weightNorm, rng: &rng)
    }
}

/// 2-D convolution (torch.nn.Conv2d, cross-correlation, NCHW): weight `[out, in, kh, kw]`,
/// bias `[out]`, stride, zero padding, dilation; the activation is fused into the bias pass.
///
/// Lowered to sgemm over cache-sized chunks of samples, the batch split over the worker pool
/// (one block of samples per thread, each with its own scratch): im2col of a chunk gives
/// `cols [in·kh·kw, n·H'·W']`, z = W·cols `[out, n·H'·W']`, then each sample's `[out, H'·W']`
/// block moves to NCHW with the bias and activation. H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1.
/// Backward, per chunk: dz to `[out, n·H'·W']`, cols again (recomputed: cheaper than keeping a
/// whole batch's), dW_t += dz·colsᵀ and db_t += Σ dz per thread t, dcols = Wᵀ·dz, dx = col2im;
/// then dW = Σ_t dW_t in thread order (the same result for the same thread count).
/// The chunk products run on nntrain's own AVX-512 kernel where the CPU has it (`gemmDirect`: no
/// packing, no zero fill), which needs B untransposed: forward z = (Wᵀ)ᵀ·cols with Wᵀ made once
/// per pass, and (for patches ≥ 32) dW_tᵀ += cols·dzᵀ with dz transposed per chunk.
/// With stride 1 (the usual case) im2col and col2im run in C (ConvKernels.c: AVX-512 where the CPU
/// has it), and the layout moves carry the bias, ReLU and its mask.
/// A 3×3, stride-1, undilated convolution with ≥ 8 input channels computes its products in the
/// Winograd domain where the kernel runs (`winograd`; Winograd.c: F(2×2, 3×3), 16 multiply-adds
/// per 2×2 output tile and channel pair instead of 36): per chunk, the input tiles' transforms
/// V, 16 products M_ξ = V_ξ·Uᵀ_ξ with the transformed filters U, and the output transform into
/// the same `[out, n·H'·W']` chunk; backward dU_ξᵀ += V_ξᵀ·dM_ξ, dV_ξ = dM_ξ·U_ξ and the
/// adjoint transforms (the exact adjoints, so the gradient is that of the computed function).
/// Followed by 2×2/2 max pooling (and with ReLU or no activation), the layer pools its chunks
/// while they are in cache (`poolFused`): the full-size output never reaches memory, and the
/// pooling layer passes the pooled tensor and its gradient through (`Model.build`).
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
    /// Per pool thread: cols / dcols of a chunk, z / dz of a chunk, dW and db partial sums.
    private var scratch: [ConvScratch] = []
    /// Samples per chunk: a chunk's cols and z together stay near 512 KB, so they live in L2
    /// (1 MB per core on the benchmark machine) from im2col through the product to the output pass.
    var chunkSamples = 1
    /// Sample blocks per pass (tests); by default the run's thread count (`setBLASThreads`),
    /// not the pool's size, so the partial sums of dW depend only on the run's settings.
    var blockCount: Int?
    /// The chunk products run on nntrain's own AVX-512 kernel (`gemmDirect`) where the CPU has it;
    /// tests turn it off to compare with sgemm.
    var directGEMM = DirectGEMM.isAvailable
    /// Winograd F(2×2, 3×3) where it applies (`winograd`); tests turn it off to compare.
    var winogradAllowed = true
    /// Transformed filters: U `[16, out, in]` and Uᵀ `[16, in, out]` (made once per forward pass).
    private var winoU: TensorStorage?, winoUT: TensorStorage?
    private var inputGrad: BatchBuffer!
    /// Wᵀ `[patch, out]` for the forward product (the direct kernel broadcasts a column of A from
    /// one pointer at fixed offsets, cheaper than from a row of W at a stride).
    private var weightT: TensorStorage!
    /// Set by `Model.build` when a fusable max pooling follows; `fusionSuspended` turns it off
    /// for a pass (diagnostics observe the full-size output).
    var poolFused = false
    var fusionSuspended = false
    /// Whether the last forward pooled (the pooling layer then passes through).
    private(set) var lastFused = false
    private var pooledOutput: BatchBuffer?
    private var poolWinners: UnsafeMutablePointer<Int32>?
    private var lastInput: Tensor?
    private var lastOutput: Tensor?

    /// `[in·kh·kw]`: the fan-in of one output unit.
    var patch: Int { inChannels * kernel.0 * kernel.1 }
    /// Whether the products run in the Winograd domain: a 3×3, stride-1, undilated kernel with
    /// at least 8 input channels (fewer leave the 16 products too short to pay for the
    /// transforms), on the direct kernel.
    var winograd: Bool {
        winogradAllowed && directGEMM && kernel == (3, 3) && stride == (1, 1) && dilation == (1, 1) && inChannels >= 8
    }
    /// Output tiles of 2×2 per sample: ⌈H'/2⌉ × ⌈W'/2⌉.
    var tileRows: Int { (outH + 1) / 2 }
    var tileCols: Int { (outW + 1) / 2 }
    /// Stride 1: im2col/col2im in C.
    var unitStride: Bool { stride == (1, 1) }
    /// ReLU or no activation: fused into the output pass and its adjoint.
    var fusedActivation: Bool { activation == .relu || activation == .linear }

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

    deinit { poolWinners?.deallocate() }

    /// Whether `pool` can run inside this layer: 2×2/2 max pooling of its output, after ReLU or
    /// no activation (max commutes with both).
    func canFuse(_ pool: Pool2D) -> Bool { fusedActivation && pool.isMax2x2 && outH >= 2 && outW >= 2 }

    /// Per-sample size of the pooled output.
    var pooledSize: Int { outChannels * (outH / 2) * (outW / 2) }

    public static func outputSize(_ n: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int {
        (n + 2 * p - d * (k - 1) - 1) / s + 1
    }

    public var parameters: [Parameter] { [gain, weight, bias].compactMap { $0 } }
    var weightMatrix: UnsafeMutablePointer<Float> { norm?.effective.pointer ?? weight.value.pointer }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample([inChannels, inH, inW]), maxBatch: maxBatch)
        chunkSamples = max(1, min(maxBatch, (1 << 17) / max(1, (patch + outChannels) * outH * outW)))
        weightT = TensorStorage(capacity: winograd ? 0 : outChannels * patch)
        if winograd {
            // The chunk's V and M (16 floats per tile and channel) near 512 KB.
            chunkSamples = max(1, min(maxBatch, (1 << 17) / (16 * tileRows * tileCols * (inChannels + outChannels))))
            winoU = TensorStorage(capacity: 16 * outChannels * inChannels)
            winoUT = TensorStorage(capacity: 16 * outChannels * inChannels)
        }
        scratch = []
        if activation.needsInput { preActivation = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch) }
        if poolFused {
            pooledOutput = BatchBuffer(sampleShape: .sample([outChannels, outH / 2, outW / 2]), maxBatch: maxBatch)
            poolWinners?.deallocate()
            poolWinners = .allocate(capacity: maxBatch * pooledSize)
        }
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

    /// im2col of one sample: in C for stride 1, else `im2col`.
    @inline(__always)
    func columnsOf(_ x: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, rowStride: Int, pad: UnsafeMutablePointer<Float>) {
        if unitStride {
            nn_im2col_s1(x, c, rowStride, Int32(inChannels), Int32(inH), Int32(inW), Int32(kernel.0), Int32(kernel.1),
                         Int32(padding.0), Int32(padding.1), Int32(dilation.0), Int32(dilation.1), Int32(outH), Int32(outW), pad)
        } else {
            im2col(x, c, rowStride: rowStride)
        }
    }

    /// col2im of one sample (dx overwritten): in C for stride 1, else `col2im`.
    @inline(__always)
    func imageOf(_ c: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rowStride: Int, pad: UnsafeMutablePointer<Float>) {
        if unitStride {
            nn_col2im_s1(c, dx, rowStride, Int32(inChannels), Int32(inH), Int32(inW), Int32(kernel.0), Int32(kernel.1),
                         Int32(padding.0), Int32(padding.1), Int32(dilation.0), Int32(dilation.1), Int32(outH), Int32(outW), pad)
        } else {
            col2im(c, dx, rowStride: rowStride)
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

    /// One scratch set per pool thread (sized once; grown only if the pool grows).
    private func blocks(_ batch: Int) -> (parts: Int, per: Int) {
        let t = max(1, min(batch, blockCount ?? gemmThreads))
        let per = (batch + t - 1) / t
        return ((batch + per - 1) / per, per)
    }

    private func ensureScratch() {
        let threads = max(1, blockCount ?? gemmThreads)
        let width = chunkSamples * outH * outW
        let wino = winograd
        while scratch.count < threads {
            var s = ConvScratch(cols: TensorStorage(capacity: wino ? 0 : patch * width), z: TensorStorage(capacity: outChannels * width),
                                zt: TensorStorage(capacity: wino ? 0 : outChannels * width),
                                dw: TensorStorage(capacity: wino ? 16 * outChannels * inChannels : outChannels * patch),
                                db: TensorStorage(capacity: outChannels),
                                pad: TensorStorage(capacity: wino ? 0 : (inH + 2 * padding.0) * (inW + 2 * padding.1)))
            if wino {
                let tiles = chunkSamples * tileRows * tileCols
                s.v = TensorStorage(capacity: 16 * tiles * inChannels)
                s.m = TensorStorage(capacity: 16 * tiles * outChannels)
                s.plane = TensorStorage(capacity: (2 * tileRows + 2) * (2 * tileCols + 2) * inChannels)
                s.tmp = TensorStorage(capacity: max(inH * inW * inChannels, outH * outW * outChannels))
            }
            scratch.append(s)
        }
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        lastFused = poolFused && !fusionSuspended
        let y = lastFused ? pooledOutput!.view(batch: batch) : output.view(batch: batch)
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        if winograd {
            nn_wino_filter(weightMatrix, outChannels, inChannels, winoU!.base, winoUT!.base)
        } else {
            transpose(weightMatrix, rows: outChannels, cols: patch, weightT.base)
        }
        ensureScratch()
        let (parts, per) = blocks(batch)
        var job = ConvJob(layer: Unmanaged.passUnretained(self), x: UnsafeMutablePointer(mutating: input.pointer), y: y.pointer,
                          dz: y.pointer, dx: nil, pre: preActivation?.view(batch: batch).pointer, batch: batch, per: per,
                          fused: lastFused, direct: directGEMM, directWeightGradient: false, winograd: winograd)
        withUnsafeMutablePointer(to: &job) { p in
            Parallel.run(parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                let j = raw!.assumingMemoryBound(to: ConvJob.self).pointee
                j.layer.takeUnretainedValue().forwardBlock(j, part: part)
            }
        }
        lastInput = input
        lastOutput = y
        return y
    }

    /// Forward of the samples of block `part`, chunk by chunk, with scratch `part`.
    func forwardBlock(_ j: ConvJob, part: Int) {
        let s = scratch[part]
        let spatial = outH * outW, inSize = inChannels * inH * inW, outSize = outChannels * spatial
        let wT = weightT.base, bp = bias?.value.pointer
        var b0 = part * j.per
        let end = min(j.batch, b0 + j.per)
        while b0 < end {
            let n = min(chunkSamples, end - b0), width = n * spatial
            if j.winograd {
                winogradForward(s, x: j.x + b0 * inSize, samples: n)
            } else {
                for b in 0..<n { columnsOf(j.x + (b0 + b) * inSize, s.cols.base + b * spatial, rowStride: width, pad: s.pad.base) }
                gemmDirect(transposeA: true, m: outChannels, n: width, k: patch, wT, s.cols.base, s.z.base, kernel: j.direct)
            }
            if j.fused {
                // Bias, pooling and ReLU straight from the chunk: [out, n·S] → [n, out, S/4].
                let at = b0 * pooledSize
                nn_conv_pool_output(s.z.base, width, j.y + at, poolWinners! + at, pooledSize, bp, Int32(outChannels), Int32(n),
                                    Int32(outH), Int32(outW), activation == .relu ? 1 : 0)
                b0 += n
                continue
            }
            // [out, n·S] back to [n, out, S], with the bias per channel and the activation.
            nn_conv_output(s.z.base, width, j.y + b0 * outSize, outSize, j.pre.map { $0 + b0 * outSize }, bp,
                           Int32(outChannels), Int32(n), spatial, activation == .relu ? 1 : 0)
            if !fusedActivation {
                let y = j.y + b0 * outSize
                ActivationKernels.apply(activation, y, y, count: n * outSize)
            }
            b0 += n
        }
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let x = lastInput, let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let batch = x.shape[0]
        ensureScratch()
        let dx = needsInputGradient ? inputGrad.view(batch: batch) : nil
        let (parts, per) = blocks(batch)
        var job = ConvJob(layer: Unmanaged.passUnretained(self), x: UnsafeMutablePointer(mutating: x.pointer), y: y.pointer,
                          dz: outputGrad.pointer, dx: dx?.pointer, pre: preActivation?.view(batch: batch).pointer, batch: batch, per: per,
                          fused: lastFused, direct: directGEMM, directWeightGradient: directGEMM && patch >= 32, winograd: winograd)
        withUnsafeMutablePointer(to: &job) { p in
            Parallel.run(parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                let j = raw!.assumingMemoryBound(to: ConvJob.self).pointee
                j.layer.takeUnretainedValue().backwardBlock(j, part: part)
            }
        }
        // dW and db: the blocks' partial sums, added in block order — in the layout the products
        // left them (dWᵀ on the direct kernel, dUᵀ with Winograd), then turned into dW.
        let dw = weight.grad.pointer
        let size = job.winograd ? 16 * outChannels * inChannels : outChannels * patch
        let inPlace = job.winograd || job.directWeightGradient
        let sum = inPlace ? scratch[0].dw.base : dw
        if !inPlace { dw.update(from: scratch[0].dw.base, count: size) }
        for t in 1..<max(1, parts) { let src = scratch[t].dw.base; for i in 0..<size { sum[i] += src[i] } }
        if job.winograd {
            nn_wino_filter_grad(sum, outChannels, inChannels, dw)
        } else if job.directWeightGradient {
            transpose(sum, rows: patch, cols: outChannels, dw)
        }
        if let bias {
            let db = bias.grad.pointer
            db.update(from: scratch[0].db.base, count: outChannels)
            for t in 1..<max(1, parts) { let src = scratch[t].db.base; for o in 0..<outChannels { db[o] += src[o] } }
        }
        if let gain, let norm { norm.backward(v: weight.value.pointer, g: gain.value.pointer, dv: dw, dg: gain.grad.pointer) }
        return dx
    }

    /// Backward of the samples of block `part`: dz through the activation, dW/db partial sums
    /// into scratch `part`, and dx when asked.
    func backwardBlock(_ j: ConvJob, part: Int) {
        let s = scratch[part]
        let spatial = outH * outW, inSize = inChannels * inH * inW, outSize = outChannels * spatial
        let w = weightMatrix
        s.dw.base.update(repeating: 0, count: j.winograd ? 16 * outChannels * inChannels : outChannels * patch)
        s.db.base.update(repeating: 0, count: outChannels)
        var b0 = part * j.per
        let end = min(j.batch, b0 + j.per)
        if b0 < end && !fusedActivation {
            let o0 = b0 * outSize
            ActivationKernels.backward(activation, x: j.pre.map { UnsafePointer($0 + o0) }, y: j.y + o0, dy: j.dz + o0,
                                       dx: j.dz + o0, count: (end - b0) * outSize)
        }
        while b0 < end {
            let n = min(chunkSamples, end - b0), width = n * spatial
            // dz of the chunk to [out, n·S] (through the ReLU mask when fused), and its bias sums.
            if j.fused {
                let at = b0 * pooledSize
                nn_conv_pool_grad(j.dz + at, poolWinners! + at, j.y + at, pooledSize, s.z.base, width, s.db.base,
                                  Int32(outChannels), Int32(n), Int32(outH), Int32(outW), activation == .relu ? 1 : 0)
            } else {
                nn_conv_output_grad(j.dz + b0 * outSize, j.y + b0 * outSize, outSize, s.z.base, width, s.db.base,
                                    Int32(outChannels), Int32(n), spatial, activation == .relu ? 1 : 0)
            }
            if j.winograd {
                winogradBackward(s, x: j.x + b0 * inSize, dx: j.dx.map { $0 + b0 * inSize }, samples: n)
                b0 += n
                continue
            }
            // dW_t += dz · colsᵀ ([out, n·S] · [n·S, patch]); the direct kernel's B is never
            // transposed, so it takes dW_tᵀ += cols · dzᵀ ([patch, n·S] · [n·S, out]).
            for b in 0..<n { columnsOf(j.x + (b0 + b) * inSize, s.cols.base + b * spatial, rowStride: width, pad: s.pad.base) }
            if j.directWeightGradient {
                transpose(s.z.base, rows: outChannels, cols: width, s.zt.base)
                gemmDirect(m: patch, n: outChannels, k: width, s.cols.base, s.zt.base, accumulate: true, s.dw.base, kernel: true)
            } else {
                gemm(transposeB: true, m: outChannels, n: patch, k: width, s.z.base, s.cols.base, beta: 1, s.dw.base, parts: 1)
            }
            if let dx = j.dx {
                // dcols = Wᵀ [patch, out] · dz [out, n·S], into the cols scratch, then col2im.
                gemmDirect(transposeA: true, m: patch, n: width, k: outChannels, w, s.z.base, s.cols.base, kernel: j.direct)
                for b in 0..<n { imageOf(s.cols.base + b * spatial, dx + (b0 + b) * inSize, rowStride: width, pad: s.pad.base) }
            }
            b0 += n
        }
    }
}

extension Conv2D {
    /// Forward of `samples` samples from x in the Winograd domain, into the chunk's z `[out, n·S]`.
    func winogradForward(_ s: ConvScratch, x: UnsafePointer<Float>, samples n: Int) {
        let tiles = tileRows * tileCols, t = n * tiles, spatial = outH * outW, inSize = inChannels * inH * inW
        let v = s.v!.base, m = s.m!.base, ut = winoUT!.base
        for b in 0..<n {
            nn_wino_input(x + b * inSize, inChannels, inH, inW, padding.0, padding.1, tileRows, tileCols, s.plane!.base, s.tmp!.base,
                          v + b * tiles * inChannels, t * inChannels)
        }
        for xi in 0..<16 {
            gemmDirect(m: t, n: outChannels, k: inChannels, v + xi * t * inChannels, ut + xi * inChannels * outChannels,
                       m + xi * t * outChannels)
        }
        for b in 0..<n {
            nn_wino_output(m + b * tiles * outChannels, t * outChannels, outChannels, outH, outW, tileRows, tileCols, s.tmp!.base,
                           s.z.base + b * spatial, n * spatial)
        }
    }

    /// Backward of `samples` samples whose dz `[out, n·S]` is in the chunk's z: dUᵀ partial sums
    /// into s.dw, and dx when asked.
    func winogradBackward(_ s: ConvScratch, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, samples n: Int) {
        let tiles = tileRows * tileCols, t = n * tiles, spatial = outH * outW, inSize = inChannels * inH * inW
        let v = s.v!.base, m = s.m!.base, du = s.dw.base
        for b in 0..<n {
            nn_wino_output_grad(s.z.base + b * spatial, n * spatial, outChannels, outH, outW, tileRows, tileCols, s.tmp!.base,
                                m + b * tiles * outChannels, t * outChannels)
            nn_wino_input(x + b * inSize, inChannels, inH, inW, padding.0, padding.1, tileRows, tileCols, s.plane!.base, s.tmp!.base,
                          v + b * tiles * inChannels, t * inChannels)
        }
        // dU_ξᵀ [in, out] += V_ξᵀ · dM_ξ ([tiles, in]ᵀ · [tiles, out]).
        for xi in 0..<16 {
            gemmDirect(transposeA: true, m: inChannels, n: outChannels, k: t, v + xi * t * inChannels, m + xi * t * outChannels,
                       accumulate: true, du + xi * inChannels * outChannels)
        }
        guard let dx else { return }
        // dV_ξ [tiles, in] = dM_ξ [tiles, out] · U_ξ [out, in], into V's buffer, then dx.
        let u = winoU!.base
        for xi in 0..<16 {
            gemmDirect(m: t, n: inChannels, k: outChannels, m + xi * t * outChannels, u + xi * outChannels * inChannels,
                       v + xi * t * inChannels)
        }
        for b in 0..<n {
            nn_wino_input_grad(v + b * tiles * inChannels, t * inChannels, inChannels, inH, inW, padding.0, padding.1, tileRows,
                               tileCols, s.plane!.base, s.tmp!.base, dx + b * inSize)
        }
    }
}

/// A convolution's per-thread scratch.
struct ConvScratch {
    /// zt: dzᵀ of a chunk; dw: dWᵀ when dW runs on the direct kernel, dUᵀ `[16, in, out]` with Winograd.
    var cols: TensorStorage, z: TensorStorage, zt: TensorStorage, dw: TensorStorage, db: TensorStorage
    /// One zero-padded input plane (stride-1 im2col/col2im).
    var pad: TensorStorage
    /// Winograd: V (or dV) `[16, tiles, in]` and M (or dM) `[16, tiles, out]` of a chunk, a padded
    /// channels-last plane and a sample-sized staging buffer.
    var v: TensorStorage? = nil, m: TensorStorage? = nil, plane: TensorStorage? = nil, tmp: TensorStorage? = nil
}

/// A convolution pass split over the pool by blocks of samples.
struct ConvJob {
    var layer: Unmanaged<Conv2D>
    var x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>
    var dx: UnsafeMutablePointer<Float>?, pre: UnsafeMutablePointer<Float>?
    var batch: Int, per: Int
    /// Pooling fused: y and dz are the pooled output and its gradient.
    var fused: Bool
    /// The products run on nntrain's own kernel (`gemmDirect`).
    var direct: Bool
    /// dW too, as dWᵀ += cols·dzᵀ (the partial sums are dWᵀ): when the patch is large enough
    /// (≥ 32) for the product to outweigh transposing dz (fashion-cnn's first convolution, with
    /// a patch of 9, is faster on sgemm).
    var directWeightGradient: Bool
    /// The products run in the Winograd domain (`Conv2D.winograd`).
    var winograd: Bool
}
