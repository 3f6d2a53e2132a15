import NNCore

/// Fully connected layer `y = f(x·Wᵀ + b)` with W `[out, in]` (torch.nn.Linear) and the
/// activation f fused into the pass that adds the bias.
///
/// Forward is one sgemm plus one fused pass; backward is f' (fused with the bias gradient),
/// dW = dzᵀ·x and dx = dz·W — two sgemm calls, the second skipped for the first layer.
public final class Dense: Layer {
    public let name: String
    public let inFeatures: Int
    public let outFeatures: Int
    public let activation: Activation
    /// The weight W (with weight norm: the direction v; W = g·v/‖v‖ row by row).
    public let weight: Parameter
    public let bias: Parameter?
    /// Weight normalisation's gains g `[out, 1]` (Salimans & Kingma 2016), nil without it.
    public let gain: Parameter?
    public let outputShape: Shape
    /// W = g·v/‖v‖ when weight norm is on.
    private var norm: WeightNorm?

    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    /// The pre-activation, kept only for activations whose derivative needs it (GELU, SiLU, softplus).
    private var preActivation: BatchBuffer?
    private var lastInput: Tensor?
    private var lastOutput: Tensor?

    public init(name: String, inFeatures: Int, outFeatures: Int, activation: Activation = .linear,
                useBias: Bool = true, initialization: InitSpec, biasInit: Float = 0, weightNorm: Bool = false,
                rng: inout Xoshiro256) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.activation = activation
        let w = Tensor(zeros: [outFeatures, inFeatures])
        initialization.fill(w, fanIn: inFeatures, fanOut: outFeatures, activation: activation, rng: &rng)
        if weightNorm {
            weight = Parameter(name: name + ".weight_v", value: w, decays: true, rows: outFeatures)
            gain = Parameter(name: name + ".weight_g", value: WeightNorm.initialGains(w, rows: outFeatures, shape: [outFeatures, 1]), decays: false)
            norm = WeightNorm(rows: outFeatures, cols: inFeatures)
        } else {
            weight = Parameter(name: name + ".weight", value: w, decays: true, rows: outFeatures)
            gain = nil
        }
        let b = Tensor(zeros: [outFeatures])
        b.fill(biasInit)
        bias = useBias ? Parameter(name: name + ".bias", value: b, decays: false) : nil
        outputShape = Shape([outFeatures])
    }

    public var parameters: [Parameter] { [gain, weight, bias].compactMap { $0 } }

    /// W as the forward pass uses it.
    var weightMatrix: UnsafeMutablePointer<Float> { norm?.effective.pointer ?? weight.value.pointer }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample([outFeatures]), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample([inFeatures]), maxBatch: maxBatch)
        if activation.needsInput { preActivation = BatchBuffer(sampleShape: .sample([outFeatures]), maxBatch: maxBatch) }
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        precondition(input.count == batch * inFeatures, "\(name): input \(input.shape) does not match \(inFeatures) features")
        let y = output.view(batch: batch)
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        gemm(transposeB: true, m: batch, n: outFeatures, k: inFeatures, input.pointer, weightMatrix, y.pointer)
        // Bias and activation by row blocks over the worker pool (each row on its own).
        let yp = y.pointer, b = bias.map { UnsafePointer($0.value.pointer) }, cols = outFeatures, f = activation
        let pre = preActivation?.view(batch: batch).pointer
        Parallel.chunks(batch, minimum: batch * cols >= 32_768 ? 2 : batch + 1, align: 1) { r in
            ActivationKernels.biasActivate(yp + r.lowerBound * cols, bias: b, rows: r.count, cols: cols, f,
                                           pre: pre.map { $0 + r.lowerBound * cols })
        }
        lastInput = input
        lastOutput = y
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let x = lastInput, let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let batch = x.shape[0]
        let dz = outputGrad.pointer  // dL/d(pre-activation), computed in place
        let cols = outFeatures, f = activation, yp = y.pointer
        let pre = preActivation.map { UnsafePointer($0.view(batch: batch).pointer) }
        let db = bias?.grad.pointer
        // Activation gradient by row blocks, then the bias gradient by column blocks (each
        // column summed over the rows in order: the same sums however the pool splits it).
        let parallel = batch * cols >= 32_768
        Parallel.chunks(batch, minimum: parallel ? 2 : batch + 1, align: 1) { r in
            let o = r.lowerBound * cols
            ActivationKernels.backward(f, x: pre.map { $0 + o }, y: yp + o, dy: dz + o, dx: dz + o, count: r.count * cols)
        }
        if let db {
            Parallel.chunks(cols, minimum: parallel ? 32 : cols + 1, align: 16) { c in
                db.advanced(by: c.lowerBound).update(repeating: 0, count: c.count)
                for r in 0..<batch {
                    let row = dz + r * cols
                    for j in c { db[j] += row[j] }
                }
            }
        }
        // dW = dzᵀ · x   ([out, B] · [B, in])
        gemm(transposeA: true, m: outFeatures, n: inFeatures, k: batch, dz, x.pointer, weight.grad.pointer)
        if let gain, let norm {
            norm.backward(v: weight.value.pointer, g: gain.value.pointer, dv: weight.grad.pointer, dg: gain.grad.pointer)
        }
        guard needsInputGradient else { return nil }
        // dx = dz · W   ([B, out] · [out, in])
        let dx = inputGrad.view(batch: batch)
        gemm(m: batch, n: inFeatures, k: outFeatures, dz, weightMatrix, dx.pointer)
        return dx.reshaped(x.shape)
    }
}
