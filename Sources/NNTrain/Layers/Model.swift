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
        let layers = Model.build(config.layers, input: config.input, prefix: "layers", config: config, seed: seed, rng: &rng)
        if penalizeAll { for p in layers.flatMap(\.parameters) { p.decays = true } }
        self.init(layers: layers, inputShape: config.input)
    }

    static func build(_ specs: [LayerSpec], input: [Int], prefix: String, config: ModelConfig, seed: UInt64,
                      rng: inout Xoshiro256) -> [any Layer] {
        var shape = input
        var layers: [any Layer] = []
        for (i, spec) in specs.enumerated() {
            let name = "\(prefix).\(i)"
            let layer: any Layer
            // A layer's own stream (dropout masks, RReLU slopes), from the seed and its name.
            let streamKey = prefix == "layers" ? UInt64(i) : fnv1a(name)
            let ownStream = Xoshiro256(seed: seed, streamID: RandomStream.dropout.rawValue << 32 | (streamKey & 0xFFFF_FFFF))
            switch spec {
            case .flatten:
                layer = Flatten(name: name, inputShape: shape)
            case let .dense(units, act, bias, weightNorm, o):
                layer = Dense(name: name, inFeatures: shape.reduce(1, *), outFeatures: units, activation: act,
                              useBias: bias, initialization: o.initialization ?? config.initialization,
                              biasInit: o.biasInit, weightNorm: weightNorm, rng: &rng)
            case .dropout(let rate):
                layer = Dropout(name: name, rate: rate, inputShape: shape, rng: ownStream)
            case .activation(let a):
                layer = ActivationLayer(name: name, activation: a, inputShape: shape)
            case let .prelu(perChannel, initial, _):
                layer = PReLU(name: name, inputShape: shape, perChannel: perChannel, initial: initial)
            case let .rrelu(lower, upper):
                layer = RReLU(name: name, inputShape: shape, lower: lower, upper: upper, rng: ownStream)
            case let .maxout(units, pieces, o):
                layer = Maxout(name: name, inFeatures: shape.reduce(1, *), units: units, pieces: pieces,
                               initialization: o.initialization ?? config.initialization, biasInit: o.biasInit, rng: &rng)
            case let .batchNorm(momentum, eps, affine, _):
                layer = BatchNorm(name: name, inputShape: shape, momentum: momentum, eps: eps, affine: affine)
            case let .layerNorm(eps, affine, _):
                layer = LayerNorm(name: name, inputShape: shape, eps: eps, affine: affine)
            case let .lrn(size, alpha, beta, k):
                layer = LocalResponseNorm(name: name, inputShape: shape, size: size, alpha: alpha, beta: beta, k: k)
            case .residual(let inner):
                let sub = build(inner, input: shape, prefix: name + ".layers", config: config, seed: seed, rng: &rng)
                let out = sub.last?.outputShape.dims ?? shape
                var projection: (any Layer)? = nil
                if out != shape && shape.count == 3 {
                    let s = shape[1] / out[1]
                    projection = Conv2D(name: name + ".projection", inputShape: shape, outChannels: out[0], kernel: (1, 1), stride: (s, s),
                                        useBias: false, initialization: config.initialization, rng: &rng)
                } else if out != shape {
                    projection = Dense(name: name + ".projection", inFeatures: shape.reduce(1, *), outFeatures: out.reduce(1, *),
                                       useBias: false, initialization: config.initialization, rng: &rng)
                }
                layer = Residual(name: name, inputShape: shape, inner: sub, projection: projection)
            case let .conv2d(out, k, s, padding, d, act, bias, weightNorm, o):
                let p = padding ?? [d[0] * (k[0] - 1) / 2, d[1] * (k[1] - 1) / 2]
                layer = Conv2D(name: name, inputShape: shape, outChannels: out, kernel: (k[0], k[1]), stride: (s[0], s[1]),
                               padding: (p[0], p[1]), dilation: (d[0], d[1]), activation: act, useBias: bias,
                               initialization: o.initialization ?? config.initialization, biasInit: o.biasInit,
                               weightNorm: weightNorm, rng: &rng)
            case let .pool2d(isMax, k, s):
                layer = Pool2D(name: name, kind: isMax ? .max : .average, inputShape: shape, kernel: (k[0], k[1]), stride: (s[0], s[1]))
            case .globalAvgPool:
                layer = GlobalAvgPool(name: name, inputShape: shape)
            }
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
