import NNCore

/// One kind of layer, as an entry of `model.layers`: the value its keys read into, and
/// everything the rest of nntrain asks of it. Each layer's file declares its kind beside the
/// layer (`DenseSpec` above `Dense`), and `LayerSpec.kinds` lists them all; adding a layer is
/// one new file plus one line there.
///
/// - `read`: the keys with their defaults and ranges, through `ObjectReader`. The order of the
///   reads is the order of the keys in the resolved config (`config.json`).
/// - `plan`: the output shape, parameter count and description from the input shape alone, or
///   nil after recording an error (`ModelPlan`).
/// - `make`: the layer itself, its weights drawn from the model's initialization stream.
public protocol LayerKind: Sendable, Equatable {
    /// The `"type"` values that read as this kind (`"max_pool2d"`, `"avg_pool2d"`).
    static var typeNames: [String] { get }
    /// Further type names, listed after every kind's own: the activation shorthands
    /// (`{"type": "relu"}` for `{"type": "activation", "activation": "relu"}`).
    static var aliases: [String] { get }
    /// True when a layer of this kind is a nonlinearity named by its type (relu, prelu), so a
    /// loaded model's activation after a layer is this type (`Pretrained`).
    static var isActivationFunction: Bool { get }
    /// Reads the keys of an entry whose type is `type` (one of `typeNames` or `aliases`).
    static func read(_ r: ObjectReader, type: String) -> Self

    /// The name in plans, diagnostics and messages (`dense`, `leaky_relu(0.01)`).
    var typeName: String { get }
    /// The options of a layer with weights (nil for the others).
    var options: LayerOptions? { get }
    /// The layer's shape rule and parameter count on a per-sample `input`; nil after recording
    /// an error in `model` (then planning stops).
    func plan(input: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan?
    /// The layer, on a per-sample `input` that `plan` accepted.
    func make(input: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer
    /// What the layer does to a linear map before it (`ModelPlan.linearStacks`).
    var linearity: Linearity { get }
    /// What the layer does to the scores when it ends the model (`ModelPlan.finalActivation`).
    var outputActivation: OutputActivation { get }
    /// True when the layer's outputs are ReLU outputs (dead units in `layers.csv`).
    var isReLU: Bool { get }
}

extension LayerKind {
    public static var aliases: [String] { [] }
    public static var isActivationFunction: Bool { false }
    public var typeName: String { Self.typeNames[0] }
    public var options: LayerOptions? { nil }
    public var linearity: Linearity { .nonlinear }
    public var outputActivation: OutputActivation { .none }
    public var isReLU: Bool { false }

    func isEqual(to other: any LayerKind) -> Bool {
        guard let other = other as? Self else { return false }
        return other == self
    }

    /// Reads an entry of this kind as a `LayerSpec`.
    static func readSpec(_ r: ObjectReader, type: String) -> LayerSpec { LayerSpec(read(r, type: type)) }
}

/// What `plan` works out for one layer.
public struct LayerPlan: Sendable {
    /// Per-sample output shape.
    public var output: [Int]
    public var parameters = 0
    /// The plan's row text (`dense 784→128, relu`).
    public var description: String
    /// The layer wrote its own rows (a residual block and its layers).
    public var ownRows = false

    public init(output: [Int], parameters: Int = 0, description: String, ownRows: Bool = false) {
        self.output = output
        self.parameters = parameters
        self.description = description
        self.ownRows = ownRows
    }
}

/// Where a layer sits: its index in its list, its name (`layers.2.layers.0`), its config path
/// (`$.model.layers.2.layers.0`) and nesting depth, and what it gets from the model.
public struct LayerSite: Sendable {
    public var index: Int
    public var name: String
    public var path: String
    public var depth: Int
    /// The model's `init`, for layers whose own `init` is absent.
    public var defaultInit: InitSpec
    /// The run seed (a layer's own random stream derives from it and the layer's name; 0 while
    /// planning, which draws nothing).
    public var seed: UInt64

    /// The layer's own stream (dropout masks, RReLU slopes): from the seed and the layer's index
    /// at the top level, else its name.
    public var ownStream: Xoshiro256 {
        let streamKey = depth == 0 ? UInt64(index) : fnv1a(name)
        return Xoshiro256(seed: seed, streamID: RandomStream.dropout.rawValue << 32 | (streamKey & 0xFFFF_FFFF))
    }
}

/// What a layer does to a linear map before it (`ModelPlan.linearStacks`).
public enum Linearity: Sendable {
    /// Keeps it linear (flatten, dropout, average pooling, batch norm: affine once trained).
    case linear
    /// Ends it (an activation, max pooling, maxout, layer and response norm).
    case nonlinear
    /// Is itself a linear map `W·x + b`, then the activation (dense, conv2d).
    case linearMap(then: Activation)
    /// Holds layers of its own, checked inside; a nonlinearity from outside (residual).
    case block([LayerSpec])
}

/// What a layer does to the scores when it ends the model (`ModelPlan.finalActivation`).
public enum OutputActivation: Sendable {
    /// Nothing to say.
    case none
    /// Looked through to the layer before (dropout, flatten).
    case transparent
    /// Its fused activation (`activation` key of dense, conv2d).
    case fused(Activation)
    /// The layer is this nonlinearity (relu, prelu).
    case layer(String)
}

/// One entry of `model.layers`: a value of one of the registered kinds.
public struct LayerSpec: Sendable, Equatable {
    public var kind: any LayerKind

    public init(_ kind: any LayerKind) { self.kind = kind }

    /// Every kind of layer, in the order their types are listed in messages.
    static let kinds: [any LayerKind.Type] = [
        FlattenSpec.self, DenseSpec.self, Conv2DSpec.self, Pool2DSpec.self, GlobalAvgPoolSpec.self, DropoutSpec.self,
        ActivationSpec.self, PReLUSpec.self, RReLUSpec.self, MaxoutSpec.self, BatchNormSpec.self, LayerNormSpec.self,
        LocalResponseNormSpec.self, ResidualSpec.self,
        SoftsignSpec.self, EmbeddingSpec.self, RecurrentSpec.self, GlobalPool1DSpec.self,
    ]

    /// Every valid `"type"`: each kind's names in registry order, then the aliases.
    static let types = kinds.flatMap { $0.typeNames } + kinds.flatMap { $0.aliases }

    /// The kind that reads entries of type `type`.
    static func kind(named type: String) -> (any LayerKind.Type)? {
        kinds.first { $0.typeNames.contains(type) || $0.aliases.contains(type) }
    }

    public static func == (a: LayerSpec, b: LayerSpec) -> Bool { a.kind.isEqual(to: b.kind) }

    public var typeName: String { kind.typeName }
    public var options: LayerOptions? { kind.options }
    public var isReLU: Bool { kind.isReLU }

    /// The stand-in for an entry that did not read (its errors are already recorded).
    static let placeholder = LayerSpec(FlattenSpec())

    static func read(_ r: ObjectReader) -> LayerSpec? {
        defer { r.finish() }
        guard let type = r.choice("type", types, default: nil), let kind = kind(named: type) else { return nil }
        return kind.readSpec(r, type: type)
    }

    /// Reads the list of layers under `key` (required, non-empty). An invalid entry keeps its
    /// place as a placeholder so indices stay right; its errors are already recorded.
    static func readList(_ r: ObjectReader, _ key: String) -> [LayerSpec] {
        var specs: [LayerSpec] = []
        var readers: [ObjectReader] = []
        if let items = r.array(key, required: true) {
            if items.isEmpty { r.diagnostics.error(r.childPath(key), "expected at least one layer, got an empty list") }
            for (p, v) in items {
                let lr = ObjectReader(path: p, value: v, diagnostics: r.diagnostics)
                readers.append(lr)
                specs.append(lr.isValid ? (LayerSpec.read(lr) ?? .placeholder) : .placeholder)
            }
        }
        r.recordArray(key, readers)
        return specs
    }
}

extension ObjectReader {
    /// The required `units` key of a layer (dense, maxout).
    func units() -> Int {
        let u = int("units", default: 1, check: .closed(1, 1_048_576))
        if !has("units") { diagnostics.error(childPath("units"), "missing required key (expected integer >= 1)") }
        return u
    }

    /// A size as one number or [height, width].
    func sizePair(_ key: String, _ def: Int, min: Double) -> [Int] {
        if case .array? = raw(key) {
            return ints(key, default: [def, def], count: 2, check: .closed(min, 4096)) ?? [def, def]
        }
        let n = int(key, default: def, check: .closed(min, 4096))
        return [n, n]
    }
}
