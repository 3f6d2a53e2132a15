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
    // Early stopping's record (`EarlyStopping`) and best values.
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
    public var plateau = ReduceLROnPlateau.State()

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

    /// Why a saved state cannot be used: the field (`state.step_in_epoch`) and the problem.
    struct FieldError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Reads a saved state, checking every field on its own: counts are whole numbers in
    /// 0...2⁵³ (`Int(exactly:)`), sums, times and the learning rate are finite, accuracies lie
    /// in 0...1 and reduce_on_plateau's scale in 0...1. The checks against the config and the
    /// data (epochs, steps per epoch, examples) are `Trainer.restore`'s.
    init(checkpoint json: JSONValue) throws(FieldError) {
        guard json.objectValue != nil else { throw FieldError(message: "state: expected an object, got \(json.brief)") }
        // A field of the state, or of its object `o` (`plateau`, `last_curve`), and its path.
        typealias Object = (value: JSONValue, name: String)
        func value(_ k: String, _ o: Object?) -> (JSONValue?, String) {
            guard let o else { return (json[k], "state.\(k)") }
            return (o.value[k], "state.\(o.name).\(k)")
        }
        func int(_ k: String, _ o: Object? = nil, required: Bool = false) throws(FieldError) -> Int? {
            let (v, path) = value(k, o)
            guard let v, v != .null else {
                if required { throw FieldError(message: "\(path) is missing") }
                return nil
            }
            guard let d = v.doubleValue, d >= 0, d <= 9_007_199_254_740_992, let i = Int(exactly: d) else {
                throw FieldError(message: "\(path): expected a whole number in 0...9007199254740992, got \(v.serialized(indent: 0))")
            }
            return i
        }
        // Doubles are stored by bit pattern; every one must be finite.
        func bits(_ k: String, _ o: Object? = nil, in range: ClosedRange<Double>? = nil) throws(FieldError) -> Double? {
            let (v, path) = value(k, o)
            guard let v, v != .null else { return nil }
            guard let s = v.stringValue, s.utf8.count <= 16, let b = UInt64(s, radix: 16) else {
                throw FieldError(message: "\(path): expected the hex bit pattern of a double, got \(v.serialized(indent: 0))")
            }
            let d = Double(bitPattern: b)
            guard d.isFinite, range.map({ $0.contains(d) }) ?? true else {
                throw FieldError(message: "\(path) is \(d), expected a finite number\(range.map { " in \($0.lowerBound)...\($0.upperBound)" } ?? "")")
            }
            return d
        }
        func float(_ k: String, _ o: Object? = nil) throws(FieldError) -> Float? {
            let (v, path) = value(k, o)
            guard let v, v != .null else { return nil }
            guard let s = v.stringValue, s.utf8.count <= 8, let b = UInt32(s, radix: 16), Float(bitPattern: b).isFinite,
                  Float(bitPattern: b) >= 0 else {
                throw FieldError(message: "\(path): expected the hex bit pattern of a finite learning rate >= 0, got \(v.serialized(indent: 0))")
            }
            return Float(bitPattern: b)
        }
        func seconds(_ k: String, _ o: Object? = nil) throws(FieldError) -> Double {
            let (v, path) = value(k, o)
            guard let v, v != .null else { return 0 }
            guard let d = v.doubleValue, d.isFinite, d >= 0 else {
                throw FieldError(message: "\(path): expected a number of seconds >= 0, got \(v.serialized(indent: 0))")
            }
            return d
        }
        epochsDone = try int("epochs_done", required: true) ?? 0
        stepInEpoch = try int("step_in_epoch", required: true) ?? 0
        globalStep = try int("global_step", required: true) ?? 0
        epochLossSum = try bits("epoch_loss_sum") ?? 0
        epochCorrect = try int("epoch_correct") ?? 0
        epochSeen = try int("epoch_seen") ?? 0
        epochSeconds = try seconds("epoch_seconds")
        logLossSum = try bits("log_loss_sum") ?? 0
        epochWeight = try bits("epoch_weight", in: 0...Double.greatestFiniteMagnitude) ?? 0
        logWeight = try bits("log_weight", in: 0...Double.greatestFiniteMagnitude) ?? 0
        lastLR = try float("last_lr") ?? 0
        best = try bits("best"); bestEpoch = try int("best_epoch"); wait = try int("wait") ?? 0
        bestValLoss = try bits("best_val_loss"); bestValAccuracy = try bits("best_val_accuracy", in: 0...1)
        samplesTrained = try int("samples_trained") ?? 0
        trainSeconds = try seconds("train_seconds")
        skippedBatches = try int("skipped_batches") ?? 0
        if let p = json["plateau"], p != .null {
            guard p.objectValue != nil else { throw FieldError(message: "state.plateau: expected an object, got \(p.brief)") }
            let o: Object = (p, "plateau")
            plateau = ReduceLROnPlateau.State(scale: try bits("scale", o, in: 0...1) ?? 1, best: try bits("best", o),
                                   badEpochs: try int("bad_epochs", o) ?? 0, cooldownLeft: try int("cooldown_left", o) ?? 0)
        }
        if let c = json["last_curve"], c != .null {
            guard c.objectValue != nil else { throw FieldError(message: "state.last_curve: expected an object, got \(c.brief)") }
            let o: Object = (c, "last_curve")
            lastCurve = CurveRow(epoch: try int("epoch", o) ?? 0, step: try int("step", o) ?? 0, lr: try float("lr", o) ?? 0,
                                 loss: try bits("loss", o) ?? .nan, accuracy: try bits("accuracy", o, in: 0...1),
                                 valLoss: try bits("val_loss", o), valAccuracy: try bits("val_accuracy", o, in: 0...1),
                                 seconds: try seconds("seconds", o))
        }
    }
}
