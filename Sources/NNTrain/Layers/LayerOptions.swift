import NNCore

/// Options every layer with weights takes.
public struct LayerOptions: Sendable, Equatable {
    /// Weight initialisation (nil: the model's default).
    public var initialization: InitSpec?
    /// Initial value of every bias.
    public var biasInit: Float = 0
    /// Frozen: the optimizer never changes this layer's parameters.
    public var freeze = false
    /// Multiplier of the learning rate for this layer's parameters.
    public var lrMultiplier: Float = 1

    public init() {}

    /// Reads `init` (when `hasInit`), `bias_init` (when `hasBias`), `freeze` and `lr_mult`, in
    /// that order.
    static func read(_ r: ObjectReader, hasInit: Bool = true, hasBias: Bool) -> LayerOptions {
        var o = LayerOptions()
        if hasInit { o.initialization = InitSpec.read(r, "init", default: nil) }
        if hasBias { o.biasInit = r.float("bias_init", default: 0) }
        o.freeze = r.bool("freeze", default: false)
        o.lrMultiplier = r.float("lr_mult", default: 1, check: .nonNegative)
        return o
    }
}
