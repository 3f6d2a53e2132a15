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
    public convenience init(config: ModelConfig, seed: UInt64) {
        var rng = Xoshiro256(seed: seed, stream: .initialization)
        var shape = config.input
        var layers: [any Layer] = []
        for (i, spec) in config.layers.enumerated() {
            let name = "layers.\(i)"
            let layer: any Layer
            // A layer's own stream (dropout masks, RReLU slopes): seed, stream kind and index.
            let ownStream = Xoshiro256(seed: seed, streamID: RandomStream.dropout.rawValue << 32 | UInt64(i))
            switch spec {
            case .flatten:
                layer = Flatten(name: name, inputShape: shape)
            case let .dense(units, act, bias, o):
                layer = Dense(name: name, inFeatures: shape.reduce(1, *), outFeatures: units, activation: act,
                              useBias: bias, initialization: o.initialization ?? config.initialization,
                              biasInit: o.biasInit, rng: &rng)
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
            }
            if let o = spec.options {
                for p in layer.parameters { p.lrScale = o.freeze ? 0 : o.lrMultiplier }
            }
            shape = layer.outputShape.dims
            layers.append(layer)
        }
        self.init(layers: layers, inputShape: config.input)
    }

    public var parameters: [Parameter] { store.parameters }

    /// Sizes every layer's buffers for batches of up to `maxBatch` samples (idempotent).
    public func allocate(maxBatch: Int) {
        guard maxBatch > self.maxBatch else { return }
        self.maxBatch = maxBatch
        for l in layers { l.allocate(maxBatch: maxBatch) }
    }

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
