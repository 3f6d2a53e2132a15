import NNCore

/// A sequential model: layers in config order, parameters in one `ParameterStore`.
public final class Model {
    public let layers: [any Layer]
    public let store: ParameterStore
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// Per layer: whether backward must produce dLoss/dInput (false before the first layer
    /// with parameters — nothing upstream needs it).
    private let needsInputGradient: [Bool]
    public private(set) var maxBatch = 0

    public init(layers: [any Layer], inputShape: [Int]) {
        self.layers = layers
        self.inputShape = inputShape
        outputShape = layers.last?.outputShape.dims ?? inputShape
        store = ParameterStore(layers.flatMap(\.parameters))
        var seenParameters = false
        var needs: [Bool] = []
        for l in layers {
            needs.append(seenParameters)
            if !l.parameters.isEmpty { seenParameters = true }
        }
        needsInputGradient = needs
    }

    /// Builds the model of a config. Weights come from the `initialization` stream of `seed`.
    /// With `penalizeAll`, biases and normalisation parameters are weight-decayed and
    /// L1/L2-penalised too (`regularization.penalize_biases`).
    public convenience init(config: ModelConfig, seed: UInt64, penalizeAll: Bool = false) {
        var rng = Xoshiro256(seed: seed, stream: .initialization)
        let layers = Model.build(config.layers, input: config.input, prefix: "layers", defaultInit: config.initialization, seed: seed,
                                 depth: 0, rng: &rng)
        if penalizeAll { for p in layers.flatMap(\.parameters) { p.decays = true } }
        self.init(layers: layers, inputShape: config.input)
    }

    /// The layers of `specs` in order, each made by its kind on the shape before it (weights
    /// drawn from `rng` in layer order), with its learning-rate options applied.
    static func build(_ specs: [LayerSpec], input: [Int], prefix: String, defaultInit: InitSpec, seed: UInt64, depth: Int,
                      rng: inout Xoshiro256) -> [any Layer] {
        var shape = input
        var layers: [any Layer] = []
        for (i, spec) in specs.enumerated() {
            let name = "\(prefix).\(i)"
            let site = LayerSite(index: i, name: name, path: "$.model." + name, depth: depth, defaultInit: defaultInit, seed: seed)
            let layer = spec.kind.make(input: shape, at: site, rng: &rng)
            if let o = spec.options {
                for p in layer.parameters { p.lrScale = o.freeze ? 0 : o.lrMultiplier }
            }
            shape = layer.outputShape.dims
            layers.append(layer)
        }
        // A layer does the next one's work inside its own pass where it can (a convolution
        // followed by 2×2/2 max pooling pools its chunks while they are in cache).
        for (a, b) in zip(layers, layers.dropFirst()) {
            if let work = b.fusibleWork, a.canFuse(work) {
                a.fusion.doesNext = work
                b.fusion.doneByPrevious = work
            }
        }
        SequenceMasks.wire(layers)
        return layers
    }

    /// Every layer, nested ones included, depth first.
    public var allLayers: [any Layer] { layers.flatMap(\.allLayers) }

    /// Non-learned state tensors (running statistics), by name.
    public var buffers: [(String, Tensor)] { layers.flatMap(\.buffers) }

    /// Every parameter, then every buffer, in one array (early stopping's best weights).
    public func snapshot() -> [Float] { store.snapshot() + buffers.flatMap { $0.1.scalars } }

    public func restore(_ values: [Float]) {
        store.restore(Array(values.prefix(store.count)))
        var offset = store.count
        for (_, t) in buffers {
            values[offset..<(offset + t.count)].withUnsafeBufferPointer { t.pointer.update(from: $0.baseAddress!, count: t.count) }
            offset += t.count
        }
    }

    public var parameters: [Parameter] { store.parameters }

    /// Sizes every layer's buffers for batches of up to `maxBatch` samples (idempotent).
    public func allocate(maxBatch: Int) {
        guard maxBatch > self.maxBatch else { return }
        self.maxBatch = maxBatch
        for l in layers { l.allocate(maxBatch: maxBatch) }
    }

    /// Forward pass that shows each top-level layer's output to `observe` (diagnostics).
    /// Fusions are off here (convolutions do not pool for their pooling layers), so each output
    /// is shown whole.
    public func forward(_ input: Tensor, mode: Mode, observe: (Int, Tensor) -> Void) -> Tensor {
        let fused = allLayers.filter { $0.fusion != FusionState() }
        let states = fused.map(\.fusion)
        for l in fused { l.fusion = FusionState() }
        defer { for (l, state) in zip(fused, states) { l.fusion = state } }
        var x = input
        for (i, l) in layers.enumerated() {
            x = l.forward(x, mode: mode)
            observe(i, x)
        }
        return x
    }

    /// Brackets an evaluation pass over fixed weights (`Trainer.evaluate`): layers may prepare
    /// their weights once for the pass (`Layer.beginEvaluation`: dense layers pack them);
    /// `endEvaluation` drops that, so any later forward sees the weights as they are then.
    public func beginEvaluation() { for l in allLayers { l.beginEvaluation() } }
    public func endEvaluation() { for l in allLayers { l.endEvaluation() } }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        var x = input
        for l in layers { x = l.forward(x, mode: mode) }
        return x
    }

    /// Back-propagates `outputGrad` (dLoss/dOutput, may be overwritten) through every layer,
    /// writing each parameter's gradient.
    public func backward(_ outputGrad: Tensor) {
        var g = outputGrad
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            guard let next = layers[i].backward(g, needsInputGradient: needsInputGradient[i]) else { return }
            g = next
        }
    }
}

/// FNV-1a of a string (stable across runs and platforms, unlike `hashValue`).
func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}
