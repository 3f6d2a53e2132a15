import NNCore

/// `{"type": "dense", "units": 128, "activation": "relu"}`: y = f(x·Wᵀ + b), W `[units, in]`
/// (`Dense`), on a flat input; `bias` false drops b, `weight_norm` writes W = g·v/‖v‖.
/// Parameters: units·in + units (bias) + units (gains).
public struct DenseSpec: LayerKind {
    public var units: Int
    public var activation: Activation
    public var bias: Bool
    public var weightNorm: Bool
    public var layerOptions: LayerOptions

    public init(units: Int, activation: Activation, bias: Bool = true, weightNorm: Bool = false, options: LayerOptions = LayerOptions()) {
        self.units = units
        self.activation = activation
        self.bias = bias
        self.weightNorm = weightNorm
        layerOptions = options
    }

    public static let typeNames = ["dense"]

    public static func read(_ r: ObjectReader, type: String) -> DenseSpec {
        let u = r.units()
        let act = Activation.read(r, "activation", default: .linear)
        let bias = r.bool("bias", default: true)
        let wn = r.bool("weight_norm", default: false)
        return DenseSpec(units: u, activation: act, bias: bias, weightNorm: wn, options: LayerOptions.read(r, hasBias: bias))
    }

    public var options: LayerOptions? { layerOptions }
    public var linearity: Linearity { .linearMap(then: activation) }
    public var outputActivation: OutputActivation { .fused(activation) }
    public var isReLU: Bool { activation == .relu }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        guard model.needFlat(shape, "dense", at: site) else { return nil }
        let params = units * shape[0] + (bias ? units : 0) + (weightNorm ? units : 0)
        let desc = "dense \(shape[0])→\(units)" + (activation == .linear ? "" : ", \(activation)") + (weightNorm ? ", weight norm" : "")
        model.warnIfSymmetric(layerOptions, at: site)
        return LayerPlan(output: [units], parameters: params, description: desc)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        Dense(name: site.name, inFeatures: shape.reduce(1, *), outFeatures: units, activation: activation,
              useBias: bias, initialization: layerOptions.initialization ?? site.defaultInit,
              biasInit: layerOptions.biasInit, weightNorm: weightNorm, rng: &rng)
    }
}

/// Fully connected layer `y = f(x·Wᵀ + b)` with W `[out, in]` (torch.nn.Linear) and the
/// activation f fused into the pass that adds the bias.
///
/// Forward is one sgemm plus one fused pass; backward is f' (fused with the bias gradient),
/// dW = dzᵀ·x and dx = dz·W — two sgemm calls, the second skipped for the first layer.
/// During an evaluation pass (`beginEvaluation` … `endEvaluation`) with ReLU or no activation on
/// an AVX-512 CPU, forward runs nntrain's own kernel on W packed once for the pass, the bias and
/// ReLU applied in registers (`DirectGEMM.packedProduct`).
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
    public func beginEvaluation() {
        guard DirectGEMM.isAvailable, activation == .relu || activation == .linear else { return }
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        let size = DirectGEMM.packedSize(n: outFeatures, k: inFeatures)
        if packedStorage == nil || packedStorage!.capacity < size { packedStorage = TensorStorage(capacity: size) }
        DirectGEMM.pack(weightMatrix, n: outFeatures, k: inFeatures, into: packedStorage!.base)
        packed = packedStorage
    }

    public func endEvaluation() { packed = nil }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        precondition(input.count == batch * inFeatures, "\(name): input \(input.shape) does not match \(inFeatures) features")
        let y = output.view(batch: batch)
        if mode == .evaluation, let packed {
            // Row blocks over the pool, each on the kernel with the bias and ReLU in registers.
            Parallel.forEach(batch, minimum: batch * outFeatures * inFeatures >= 1 << 20 ? 16 : batch + 1, align: 1,
                             PackedProduct(a: input.pointer, w: packed.base, y: y.pointer, bias: bias.map { UnsafePointer($0.value.pointer) },
                                           n: outFeatures, k: inFeatures, relu: activation == .relu))
            lastInput = input
            lastOutput = y
            return y
        }
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        gemm(transposeB: true, m: batch, n: outFeatures, k: inFeatures, input.pointer, weightMatrix, y.pointer)
        // Bias and activation by row blocks over the worker pool (each row on its own).
        Parallel.forEach(batch, minimum: batch * outFeatures >= 32_768 ? 2 : batch + 1, align: 1,
                         BiasActivation(y: y.pointer, pre: preActivation?.view(batch: batch).pointer,
                                        bias: bias.map { UnsafePointer($0.value.pointer) }, cols: outFeatures, f: activation))
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
        Parallel.forEach(batch, minimum: parallel ? 2 : batch + 1, align: 1,
                         ActivationGradient(y: y.pointer, dz: dz, pre: preActivation?.view(batch: batch).pointer, cols: cols, f: activation))
        if let db = bias?.grad.pointer {
            Parallel.forEach(cols, minimum: parallel ? 32 : cols + 1, align: 16, BiasGradient(dz: dz, db: db, rows: batch, cols: cols))
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

// The dense layer's loops over the worker pool: row blocks, or column blocks for the bias gradient.

/// Evaluation: y = relu?(a·Wᵀ + b) on W packed for nntrain's kernel, for a block of rows.
struct PackedProduct: ParallelLoop {
    let a: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?
    let n: Int, k: Int, relu: Bool
    func run(_ rows: Range<Int>) {
        DirectGEMM.packedProduct(m: rows.count, n: n, k: k, a + rows.lowerBound * k, lda: k, packed: w, y + rows.lowerBound * n, ldc: n,
                                 bias: bias, relu: relu)
    }
}

/// y = f(y + b) in place for a block of rows (the pre-activation kept in `pre` when f' needs it).
struct BiasActivation: ParallelLoop {
    let y: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>?, bias: UnsafePointer<Float>?
    let cols: Int, f: Activation
    func run(_ rows: Range<Int>) {
        let o = rows.lowerBound * cols
        ActivationKernels.biasActivate(y + o, bias: bias, rows: rows.count, cols: cols, f, pre: pre.map { $0 + o })
    }
}

/// dz = f'(·) ⊙ dz in place for a block of rows.
struct ActivationGradient: ParallelLoop {
    let y: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>?
    let cols: Int, f: Activation
    func run(_ rows: Range<Int>) {
        let o = rows.lowerBound * cols
        ActivationKernels.backward(f, x: pre.map { UnsafePointer($0 + o) }, y: y + o, dy: dz + o, dx: dz + o, count: rows.count * cols)
    }
}

/// db[c] = Σ_r dz[r, c] for a block of columns, each summed over the rows in order (the same
/// sums however the pool splits it).
struct BiasGradient: ParallelLoop {
    let dz: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>
    let rows: Int, cols: Int
    func run(_ columns: Range<Int>) {
        (db + columns.lowerBound).update(repeating: 0, count: columns.count)
        for r in 0..<rows {
            let row = dz + r * cols
            for c in columns { db[c] += row[c] }
        }
    }
}

extension Dense {
    /// Gemm (transB 1) with W — weight norm folded in, g·v/‖v‖ — and b, then the activation.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        let w = Array(UnsafeBufferPointer(start: weightMatrix, count: outFeatures * inFeatures))
        var inputs = [input, graph.constant(name + ".weight", dims: [outFeatures, inFeatures], w)]
        if let bias { inputs.append(graph.constant(bias.name, dims: [outFeatures], bias.value.scalars)) }
        let y = graph.add("Gemm", inputs, name: name, attributes: [("transB", .int(1))])
        return activation.onnx(y, name: name, in: graph)
    }

    /// `torch.nn.Linear(in, out)` and the fused activation; with weight norm a `Tensors` module
    /// (`weight_v` `[out, in]`, `weight_g` `[out, 1]`, `bias`) and `F.linear` on g·v/‖v‖.
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let b = bias == nil ? "False" : "True"
        guard gain != nil else {
            return TorchCode(module: "torch.nn.Linear(\(inFeatures), \(outFeatures), bias=\(b))",
                             forward: ["x = " + activation.torch("\(module)(x)")])
        }
        let shapes = "weight_v=(\(outFeatures), \(inFeatures)), weight_g=(\(outFeatures), 1)" + (bias == nil ? "" : ", bias=(\(outFeatures),)")
        let y = "F.linear(x, weight_norm(\(module).weight_v, \(module).weight_g), \(bias == nil ? "None" : module + ".bias"))"
        return TorchCode(module: "Tensors(\(shapes))", forward: ["x = " + activation.torch(y)], helpers: [.tensors, .weightNorm])
    }
}
