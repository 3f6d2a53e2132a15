/// A layer in evaluation mode as PyTorch source, for `nntrain export --format torch`
/// (`Layer.exportTorch`; the driver, `TorchExport`, assembles `model.py`).
///
/// `module` is a Python expression that builds the layer's module: its parameters and buffers
/// carry the names and shapes nntrain writes into `model.safetensors` (`weight`, `bias`,
/// `running_mean`, `weight_v`…), so `load_state_dict(..., strict=True)` fills them.
/// `forward` are lines of `Model.forward` that turn the variable `x` (shape `[N]` + the layer's
/// input shape) into the layer's output, again in `x`, computing evaluation mode whatever the
/// module's `training` flag (dropout the identity, batch norm on its running statistics).
public struct TorchCode: Sendable, Equatable {
    public var module: String
    public var forward: [String]
    /// The helpers of `model.py` the code uses (emitted only when some layer needs them).
    public var helpers: Set<TorchHelper>

    public init(module: String, forward: [String], helpers: Set<TorchHelper> = []) {
        self.module = module
        self.forward = forward
        self.helpers = helpers
    }

    /// `float32` as the shortest Python literal that reads back as the same value (`0.1`,
    /// `1e-05`, `2.0`).
    public static func literal(_ v: Float) -> String { "\(v)" }

    /// `(a, b)`: a Python tuple of two ints.
    public static func pair(_ v: (Int, Int)) -> String { "(\(v.0), \(v.1))" }

    /// `text` with `pad` after each of its newlines (a multi-line module nested one level deeper).
    public static func indent(_ text: String, _ pad: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n" + pad)
    }

    /// `[1, 28, 28]`: a Python list of ints.
    public static func list(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ", ") + "]" }
}

/// Shared definitions of `model.py`: the Python text is in `TorchExport`.
public enum TorchHelper: String, Sendable, Hashable, CaseIterable, Comparable {
    /// `Tensors(**shapes)`: a module holding parameters of given shapes under given names.
    case tensors
    /// `weight_norm(v, g)`: W = g·v/‖v‖ per output unit.
    case weightNorm
    /// `Residual(layers, projection=None)`: a residual block's inner modules and projection.
    case residual

    public static func < (a: TorchHelper, b: TorchHelper) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// What the PyTorch export cannot write (a layer without a PyTorch form): the message names it.
public struct TorchExportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
