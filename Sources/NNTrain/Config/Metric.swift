/// A per-epoch figure of `curves.csv` that a rule watches (early stopping, reduce_on_plateau's
/// `monitor`) or a sweep ranks by. The raw values are the config's names and the column names.
///
/// Direction: accuracies are maximised, losses minimised (`maximize`).
public enum Metric: String, Sendable, CaseIterable, CustomStringConvertible {
    // In the order the config's error messages list them.
    case valLoss = "val_loss", valAccuracy = "val_accuracy", loss, accuracy

    /// The names a config accepts, in order (`expected one of val_loss, val_accuracy, …`).
    public static let names = allCases.map(\.rawValue)

    /// True when larger is better: the accuracies.
    public var maximize: Bool { self == .accuracy || self == .valAccuracy }

    /// Measured on the validation split (`val_*`): it exists only with validation data.
    public var needsValidation: Bool { self == .valLoss || self == .valAccuracy }

    /// An accuracy: written only for data.task "classification".
    public var needsClassification: Bool { maximize }

    public var description: String { rawValue }
}
