/// What the trainer reports while it runs; the CLI turns these into a progress bar or lines.
public enum TrainingEvent {
    case dataLoaded(train: Int, validation: Int, test: Int, classes: Int?, seconds: Double)
    case started(epochs: Int, stepsPerEpoch: Int, parameters: Int, threads: Int)
    /// After each step (cheap to ignore); `loss` is the running mean of the epoch.
    case step(epoch: Int, stepInEpoch: Int, stepsPerEpoch: Int, loss: Double)
    case epochEnded(CurveRow, epochs: Int)
    case earlyStopped(epoch: Int, bestEpoch: Int)
    case message(String)
}

/// A failed run: which exit code it maps to and what to say.
public enum RunError: Error, CustomStringConvertible {
    case config([String])
    case data(DataError)
    case diverged(String)
    case interrupted(signal: Int32)
    case io(String)

    public var exitCode: Int32 {
        switch self {
        case .config: return 2
        case .data: return 3
        case .diverged: return 4
        case .interrupted(let s): return 128 + s
        case .io: return 1
        }
    }

    public var description: String {
        switch self {
        case .config(let lines): return lines.joined(separator: "\n")
        case .data(let e): return "data error: \(e)"
        case .diverged(let m): return m
        case .interrupted(let s): return "interrupted by signal \(s); partial results written"
        case .io(let m): return m
        }
    }
}
