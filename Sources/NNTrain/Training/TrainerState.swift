import NNCore

/// Everything about a run's progress that is not a tensor: where it is, the running sums of
/// the current epoch, and the early-stopping record. Saved in every checkpoint.
public struct TrainerState: Sendable, Equatable {
    /// Completed epochs.
    public var epochsDone = 0
    /// Steps done in the current, unfinished epoch (0 at an epoch boundary).
    public var stepInEpoch = 0
    public var globalStep = 0
    // Running sums of the current epoch and of the current steps.csv interval.
    public var epochLossSum = 0.0
    public var epochCorrect = 0
    public var epochSeen = 0
    public var epochSeconds = 0.0
    public var epochWeight = 0.0
    public var logLossSum = 0.0
    public var logWeight = 0.0
    public var lastLR: Float = 0
    // Early stopping and best values.
    public var best: Double? = nil
    public var bestEpoch: Int? = nil
    public var wait = 0
    public var bestValLoss: Double? = nil
    public var bestValAccuracy: Double? = nil
    // Totals for the summary.
    public var samplesTrained = 0
    public var trainSeconds = 0.0
    public var skippedBatches = 0
    public var lastCurve: CurveRow? = nil
    /// reduce_on_plateau's record (scale of the learning rate, best value, counters).
    public var plateau = PlateauState()

    public init() {}

    var json: JSONValue {
        func num(_ d: Double?) -> JSONValue { d.map { .number($0) } ?? .null }
        func int(_ i: Int?) -> JSONValue { i.map { .number(Double($0)) } ?? .null }
        // Doubles are stored by bit pattern so a resumed run continues bit for bit.
        func bits(_ d: Double?) -> JSONValue { d.map { .string(String($0.bitPattern, radix: 16)) } ?? .null }
        var pairs: [(String, JSONValue)] = [
            ("epochs_done", int(epochsDone)), ("step_in_epoch", int(stepInEpoch)), ("global_step", int(globalStep)),
            ("epoch_loss_sum", bits(epochLossSum)), ("epoch_correct", int(epochCorrect)), ("epoch_seen", int(epochSeen)),
            ("epoch_seconds", num(epochSeconds)), ("epoch_weight", bits(epochWeight)),
            ("log_loss_sum", bits(logLossSum)), ("log_weight", bits(logWeight)),
            ("last_lr", .string(String(lastLR.bitPattern, radix: 16))),
            ("best", bits(best)), ("best_epoch", int(bestEpoch)), ("wait", int(wait)),
            ("best_val_loss", bits(bestValLoss)), ("best_val_accuracy", bits(bestValAccuracy)),
            ("samples_trained", int(samplesTrained)), ("train_seconds", num(trainSeconds)),
            ("skipped_batches", int(skippedBatches)),
            ("plateau", .object([("scale", bits(plateau.scale)), ("best", bits(plateau.best)),
                                 ("bad_epochs", int(plateau.badEpochs)), ("cooldown_left", int(plateau.cooldownLeft))])),
        ]
        if let c = lastCurve {
            pairs.append(("last_curve", .object([
                ("epoch", int(c.epoch)), ("step", int(c.step)), ("lr", .string(String(c.lr.bitPattern, radix: 16))),
                ("loss", bits(c.loss)), ("accuracy", bits(c.accuracy)), ("val_loss", bits(c.valLoss)),
                ("val_accuracy", bits(c.valAccuracy)), ("seconds", num(c.seconds)),
            ])))
        }
        return .object(pairs)
    }

    init?(json: JSONValue) {
        func int(_ k: String, _ o: JSONValue = .null) -> Int? { (o == .null ? json : o)[k]?.doubleValue.map { Int($0) } }
        func bits(_ k: String, _ o: JSONValue = .null) -> Double? {
            guard let s = (o == .null ? json : o)[k]?.stringValue, let b = UInt64(s, radix: 16) else { return nil }
            return Double(bitPattern: b)
        }
        func float(_ k: String, _ o: JSONValue = .null) -> Float? {
            guard let s = (o == .null ? json : o)[k]?.stringValue, let b = UInt32(s, radix: 16) else { return nil }
            return Float(bitPattern: b)
        }
        guard let e = int("epochs_done"), let s = int("step_in_epoch"), let g = int("global_step") else { return nil }
        epochsDone = e; stepInEpoch = s; globalStep = g
        epochLossSum = bits("epoch_loss_sum") ?? 0
        epochCorrect = int("epoch_correct") ?? 0
        epochSeen = int("epoch_seen") ?? 0
        epochSeconds = json["epoch_seconds"]?.doubleValue ?? 0
        logLossSum = bits("log_loss_sum") ?? 0
        epochWeight = bits("epoch_weight") ?? 0
        logWeight = bits("log_weight") ?? 0
        lastLR = float("last_lr") ?? 0
        best = bits("best"); bestEpoch = int("best_epoch"); wait = int("wait") ?? 0
        bestValLoss = bits("best_val_loss"); bestValAccuracy = bits("best_val_accuracy")
        samplesTrained = int("samples_trained") ?? 0
        trainSeconds = json["train_seconds"]?.doubleValue ?? 0
        skippedBatches = int("skipped_batches") ?? 0
        if let p = json["plateau"], p != .null {
            plateau = PlateauState(scale: bits("scale", p) ?? 1, best: bits("best", p), badEpochs: int("bad_epochs", p) ?? 0,
                                   cooldownLeft: int("cooldown_left", p) ?? 0)
        }
        if let c = json["last_curve"], c != .null {
            lastCurve = CurveRow(epoch: int("epoch", c) ?? 0, step: int("step", c) ?? 0, lr: float("lr", c) ?? 0,
                                 loss: bits("loss", c) ?? .nan, accuracy: bits("accuracy", c), valLoss: bits("val_loss", c),
                                 valAccuracy: bits("val_accuracy", c), seconds: c["seconds"]?.doubleValue ?? 0)
        }
    }
}
