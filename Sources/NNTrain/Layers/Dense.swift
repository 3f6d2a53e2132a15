import CSupport
import NNCore

/// Fully connected layer `y = f(x·Wᵀ + b)` with W `[out, in]` (torch.nn.Linear) and the
/// activation f fused into the pass that adds the bias.
///
/// Forward is one sgemm plus one fused pass; backward is f' (fused with the bias gradient),
/// dW = dzᵀ·x and dx = dz·W — two sgemm calls, the second skipped for the first layer.
/// During an evaluation pass (`beginEvaluation` … `endEvaluation`) with ReLU or no activation on
/// an AVX-512 CPU, forward runs nntrain's own kernel on W packed once for the pass, the bias and
/// ReLU applied in registers (`nn_gemm_packed`).
/// A dense layer's element-wise work split over the pool (row blocks, or column blocks for the
/// bias gradient); `bias` is the bias (forward) or its gradient (backward).
struct DenseJob {
    var y: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>?
    var bias: UnsafeMutablePointer<Float>?
    var rows: Int, cols: Int, per: Int
    var f: Activation
}

/// An evaluation product split over the pool by row blocks.
struct PackedDenseJob {
    var a: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?
    var rows: Int, n: Int, k: Int, relu: Bool, per: Int
}

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
    /// Wᵀ in the packed kernel's panels while an evaluation pass runs (nil otherwise).
    private var packed: TensorStorage?
    private var packedStorage: TensorStorage?

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

    /// Packs W for the evaluation pass that starts (ReLU or no activation, AVX-512 CPUs).
    func beginEvaluation() {
        guard DirectGEMM.isAvailable, activation == .relu || activation == .linear else { return }
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        let size = nn_gemm_packed_size(outFeatures, inFeatures)
        if packedStorage == nil || packedStorage!.capacity < size { packedStorage = TensorStorage(capacity: size) }
        nn_gemm_pack(weightMatrix, outFeatures, inFeatures, packedStorage!.base)
        packed = packedStorage
    }

    func endEvaluation() { packed = nil }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        precondition(input.count == batch * inFeatures, "\(name): input \(input.shape) does not match \(inFeatures) features")
        let y = output.view(batch: batch)
        if mode == .evaluation, let packed {
            // Row blocks over the pool, each on the kernel with the bias and ReLU in registers.
            let (parts, per) = Parallel.split(batch, minimum: batch * outFeatures * inFeatures >= 1 << 20 ? 16 : batch + 1, align: 1)
            var job = PackedDenseJob(a: input.pointer, w: packed.base, y: y.pointer, bias: bias.map { UnsafePointer($0.value.pointer) },
                                     rows: batch, n: outFeatures, k: inFeatures, relu: activation == .relu, per: per)
            withUnsafeMutablePointer(to: &job) { p in
                Parallel.run(parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                    let j = raw!.assumingMemoryBound(to: PackedDenseJob.self).pointee
                    let lo = part * j.per, n = min(j.rows, lo + j.per) - lo
                    _ = nn_gemm_packed(n, j.n, j.k, j.a + lo * j.k, j.k, j.w, j.y + lo * j.n, j.n, j.bias, j.relu ? 1 : 0)
                }
            }
            lastInput = input
            lastOutput = y
            return y
        }
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        gemm(transposeB: true, m: batch, n: outFeatures, k: inFeatures, input.pointer, weightMatrix, y.pointer)
        // Bias and activation by row blocks over the worker pool (each row on its own).
        let cols = outFeatures
        let (parts, per) = Parallel.split(batch, minimum: batch * cols >= 32_768 ? 2 : batch + 1, align: 1)
        var job = DenseJob(y: y.pointer, dz: y.pointer, pre: preActivation?.view(batch: batch).pointer,
                           bias: bias?.value.pointer, rows: batch, cols: cols, per: per, f: activation)
        withUnsafeMutablePointer(to: &job) { p in
            Parallel.run(parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                let j = raw!.assumingMemoryBound(to: DenseJob.self).pointee
                let lo = part * j.per, n = min(j.rows, lo + j.per) - lo
                ActivationKernels.biasActivate(j.y + lo * j.cols, bias: j.bias.map { UnsafePointer($0) }, rows: n, cols: j.cols,
                                               j.f, pre: j.pre.map { $0 + lo * j.cols })
            }
        }
        lastInput = input
        lastOutput = y
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let x = lastInput, let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let batch = x.shape[0]
        let dz = outputGrad.pointer  // dL/d(pre-activation), computed in place
        let cols = outFeatures
        // Activation gradient by row blocks, then the bias gradient by column blocks (each
        // column summed over the rows in order: the same sums however the pool splits it).
        let parallel = batch * cols >= 32_768
        let rowsSplit = Parallel.split(batch, minimum: parallel ? 2 : batch + 1, align: 1)
        var job = DenseJob(y: y.pointer, dz: dz, pre: preActivation?.view(batch: batch).pointer, bias: bias?.grad.pointer,
                           rows: batch, cols: cols, per: rowsSplit.per, f: activation)
        withUnsafeMutablePointer(to: &job) { p in
            Parallel.run(rowsSplit.parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                let j = raw!.assumingMemoryBound(to: DenseJob.self).pointee
                let lo = part * j.per, o = lo * j.cols, n = min(j.rows, lo + j.per) - lo
                ActivationKernels.backward(j.f, x: j.pre.map { UnsafePointer($0 + o) }, y: j.y + o, dy: j.dz + o, dx: j.dz + o, count: n * j.cols)
            }
            guard p.pointee.bias != nil else { return }
            let colsSplit = Parallel.split(cols, minimum: parallel ? 32 : cols + 1, align: 16)
            p.pointee.per = colsSplit.per
            Parallel.run(colsSplit.parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                let j = raw!.assumingMemoryBound(to: DenseJob.self).pointee
                let db = j.bias!, c0 = part * j.per, c1 = min(j.cols, c0 + j.per)
                (db + c0).update(repeating: 0, count: c1 - c0)
                for r in 0..<j.rows {
                    let row = j.dz + r * j.cols
                    for c in c0..<c1 { db[c] += row[c] }
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
