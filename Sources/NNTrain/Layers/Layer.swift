import NNCore

/// Training (dropout on, batch statistics) or evaluation (deterministic).
public enum Mode: Sendable { case training, evaluation }

/// A learnable tensor: its value and gradient are views into the model's flat buffers.
public final class Parameter {
    /// `layers.3.weight`: the name in logs, checkpoints and `model.safetensors`.
    public let name: String
    public internal(set) var value: Tensor
    /// Written by `backward` (overwritten each step, never accumulated).
    public internal(set) var grad: Tensor
    /// Whether L1/L2/weight decay apply. Weights yes; biases and norm gains/shifts no.
    public internal(set) var decays: Bool
    /// For max-norm: the value is `[rows, count/rows]` and each row is one unit's fan-in.
    public let rows: Int
    /// Learning-rate multiplier (`lr_mult`); 0 freezes the parameter (`freeze`).
    public var lrScale: Float = 1

    public init(name: String, value: Tensor, decays: Bool, rows: Int = 1) {
        self.name = name
        self.value = value
        self.grad = Tensor(zeros: value.shape)
        self.decays = decays
        self.rows = rows
    }
}

/// One differentiable stage with a hand-written backward pass.
///
/// Buffers are allocated once (`allocate(maxBatch:)`); `forward` returns a view of the layer's
/// own output buffer, which the next forward overwrites. `backward` follows a `.training`
/// forward, writes each parameter's `grad`, may overwrite `outputGrad`, and returns dLoss/dInput
/// in the layer's own buffer (nil when `needsInputGradient` is false).
public protocol Layer: AnyObject {
    var name: String { get }
    var parameters: [Parameter] { get }
    /// Per-sample output shape.
    var outputShape: Shape { get }
    func allocate(maxBatch: Int)
    func forward(_ input: Tensor, mode: Mode) -> Tensor
    func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor?
    /// The state of the layer's random stream, if it has one (nil otherwise).
    var randomState: [UInt64]? { get set }
    /// Tensors that are state but not learned (batch norm's running statistics), by full name.
    var buffers: [(String, Tensor)] { get }
    /// Layers inside this one (a residual block's), for checkpoints and diagnostics.
    var sublayers: [any Layer] { get }
    /// The work of this layer that the layer before it may do in its own pass instead (nil: none).
    var fusibleWork: Fusion? { get }
    /// Whether this layer can do `work` on its output, for the layer after it.
    func canFuse(_ work: Fusion) -> Bool
    /// The fusions this layer takes part in (`Model.build` decides them from `fusibleWork` and
    /// `canFuse`; a pass that observes every output turns them off). A layer with fusible work or
    /// a `canFuse` that can be true stores it; the default ignores it.
    var fusion: FusionState { get set }
    /// Brackets an evaluation pass over fixed weights (`Model.beginEvaluation`): a layer may
    /// prepare its weights once for the pass (Dense packs them) and drops that at the end.
    func beginEvaluation()
    func endEvaluation()
    /// Brackets a pass that recomputes running statistics (`Trainer.recomputeRunningStatistics`):
    /// true when the layer has any and starts over (batch norm); the default has none.
    func beginStatisticsPass() -> Bool
    func endStatisticsPass()
    /// The layer in evaluation mode as ONNX nodes on `input` (a value of shape `[N]` + the
    /// layer's input shape) added to `graph`; returns the name of its output. Each layer's file
    /// writes its own; the default throws, naming the layer (`nntrain export` exits 2).
    func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String
    /// The layer in evaluation mode as PyTorch code (`TorchCode`): the expression building its
    /// module, which sits at `module` (`self.layers[3]`, `self.layers[3].layers[0]`), and the
    /// lines of `forward` from `x` to `x`. Each layer's file writes its own; the default throws,
    /// naming the layer (`nntrain export --format torch` exits 2).
    func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [(String, Tensor)] { [] }
    public var sublayers: [any Layer] { [] }
    public var fusibleWork: Fusion? { nil }
    public func canFuse(_ work: Fusion) -> Bool { false }
    public var fusion: FusionState {
        get { FusionState() }
        set {}
    }
    public func beginEvaluation() {}
    public func endEvaluation() {}
    public func beginStatisticsPass() -> Bool { false }
    public func endStatisticsPass() {}
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        throw ONNXExportError("layer \(name) (\(Self.self)) has no ONNX form; nntrain export cannot write this model")
    }
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        throw TorchExportError("layer \(name) (\(Self.self)) has no PyTorch form; nntrain export --format torch cannot write this model")
    }

    /// This layer and every layer inside it, depth first.
    public var allLayers: [any Layer] { [self] + sublayers.flatMap(\.allLayers) }
    /// The state of the layer's own random stream (dropout), saved in checkpoints.
    public var randomState: [UInt64]? {
        get { nil }
        set {}
    }
}

/// Work that one layer can do inside the pass of the layer before it, so that the tensor between
/// them never reaches memory.
public enum Fusion: Sendable, Equatable {
    /// 2×2 max pooling with stride 2: a convolution with ReLU or no activation pools its chunks
    /// while they are in cache.
    case maxPool2x2
}

/// A layer's part in the fusions of its neighbours (`Layer.fusion`).
public struct FusionState: Sendable, Equatable {
    /// This layer also does that work of the next layer: its output is the next layer's.
    public var doesNext: Fusion?
    /// The layer before did this layer's work: forward and backward pass their tensors through.
    public var doneByPrevious: Fusion?

    public init(doesNext: Fusion? = nil, doneByPrevious: Fusion? = nil) {
        self.doesNext = doesNext
        self.doneByPrevious = doneByPrevious
    }
}

extension Shape {
    /// `[1] + dims`: a per-sample shape with room for the batch dimension.
    static func sample(_ dims: [Int]) -> Shape { Shape([1] + dims) }
}

/// A layer with its own random stream (dropout masks, RReLU slopes), saved in checkpoints.
public protocol SeededLayer: Layer {
    var rng: Xoshiro256 { get set }
}

extension SeededLayer {
    public var randomState: [UInt64]? {
        get { rng.state }
        set { if let s = newValue, s.count == 4 { rng = Xoshiro256(state: s) } }
    }
}
