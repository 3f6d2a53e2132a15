import NNCore

/// One finding of a run's diagnosis (`summary.json` `diagnosis`, `nntrain diagnose`): a code,
/// a one-line message with the advice of the training notes, and the numbers that triggered it.
public struct Finding: Sendable, Equatable {
    public var code: String
    public var message: String
    /// An object of the numbers and epochs behind the finding.
    public var evidence: JSONValue

    public init(code: String, message: String, evidence: JSONValue) {
        self.code = code; self.message = message; self.evidence = evidence
    }

    public var json: JSONValue {
        .object([("code", .string(code)), ("message", .string(message)), ("evidence", evidence)])
    }
}

/// Reads the curves for the user: documented rules over a run's figures (`RunFigures`), each
/// with its thresholds below (README, "Diagnosis"). `healthy` when no rule applies.
public enum Diagnosis {
    /// lr_too_high: a later epoch's training loss above this × the first epoch's.
    public static let riseFactor = 1.05
    /// lr_too_high on divergence: the loss "rose before it" when a logged step's loss after
    /// the first exceeds this × the first logged loss.
    public static let divergenceRiseFactor = 1.5
    /// lr_too_high by oscillation: an epoch's training loss at least this × the epoch's
    /// before (a rise of ≥ 10 %) while the lr did not rise (a warm restart or warmup is not
    /// counted),
    public static let oscillationRise = 1.10
    /// at least this many times: the loss swings up and down without rising overall.
    public static let oscillationMinRises = 2
    /// lr_too_low: at least this many epochs,
    public static let slowMinEpochs = 3
    /// the last training loss above this × the first (far from converged),
    public static let slowRemaining = 0.9
    /// every epoch's loss below the one before (still falling, with no plateau: nearly linear),
    /// by at least this fraction of the first epoch's loss per epoch on average (less is flat:
    /// `underfitting`).
    public static let slowMinDrop = 1e-3
    /// overfitting: the last validation loss at least this × its minimum (risen ≥ 10 %),
    /// while the training loss fell after the minimum's epoch.
    public static let overfitRise = 1.10
    /// underfitting: after at least `slowMinEpochs` epochs, the training loss above this × ln K
    /// (K classes; ln K is the loss of a uniform guess)
    public static let underfitLoss = 0.8
    /// or the training accuracy at most this / K.
    public static let underfitAccuracy = 1.5
    /// noisy_batch_too_small: at least this many steps.csv rows;
    public static let noiseMinRows = 20
    /// the trend is a centered moving average over this many rows either side;
    public static let noiseHalfWindow = 5
    /// and the spread of one batch's loss around the trend, relative to the trend (the std of
    /// row/trend − 1 over the second half of the rows, × √(steps per row), since a row is the
    /// mean of that many batches), above this.
    public static let noiseThreshold = 0.75
    /// dead_relu: a ReLU layer with at least this fraction of dead units in the last epoch.
    public static let deadFraction = 0.5
    /// saturation: a sigmoid/tanh layer with at least this fraction of outputs within 0.01 of
    /// the function's bounds in the last epoch (`saturated_fraction`).
    public static let saturatedFraction = 0.5
    /// vanishing_activations: a hidden layer's act_std below this × the first hidden layer's,
    public static let vanishingRatio = 1e-2
    /// or below this absolute value.
    public static let vanishingStd = 1e-3
    /// exploding_activations: a hidden layer's act_std at least this × the first hidden layer's,
    public static let explodingRatio = 10.0
    /// or above this absolute value.
    public static let explodingStd = 1e3

    /// Every finding for `f`, in a fixed order; `[healthy]` when none applies.
    public static func findings(_ f: RunFigures) -> [Finding] {
        var out: [Finding] = []
        let high = lrTooHigh(f)
        if let h = high { out.append(h) }
        let low = high == nil ? lrTooLow(f) : nil
        if let l = low { out.append(l) }
        if high == nil, low == nil, let u = underfitting(f) { out.append(u) }
        if let o = overfitting(f) { out.append(o) }
        if let n = noisy(f) { out.append(n) }
        out += layerFindings(f)
        if out.isEmpty {
            out.append(Finding(code: "healthy", message: "no problem found in the curves",
                               evidence: .object([("epochs", .number(Double(f.epochs.count)))])))
        }
        return out
    }

    static func num(_ d: Double) -> JSONValue { d.isFinite ? .number(d) : .null }

    static func lrTooHigh(_ f: RunFigures) -> Finding? {
        let losses = f.steps.map(\.loss).filter(\.isFinite)
        if f.diverged {
            let first = losses.first
            let peak = losses.dropFirst().max()
            let rose = first.flatMap { a in peak.map { $0 > divergenceRiseFactor * a } } ?? false
            var ev: [(String, JSONValue)] = [("diverged", .bool(true)), ("loss_rose_before", .bool(rose))]
            if let first { ev.append(("first_step_loss", num(first))) }
            if let peak { ev.append(("highest_step_loss", num(peak))) }
            ev.append(("epochs_done", .number(Double(f.epochs.count))))
            return Finding(code: "lr_too_high", message: "the loss " + (rose ? "rose, then " : "") + "diverged: lower the learning rate ~10× (or clip gradients)",
                           evidence: .object(ev))
        }
        guard let first = f.epochs.first, first.loss.isFinite else { return nil }
        for e in f.epochs.dropFirst() where !(e.loss <= riseFactor * first.loss) {
            return Finding(code: "lr_too_high", message: "the training loss rose above the first epoch's: lower the learning rate ~10×",
                           evidence: .object([("first_epoch", .number(Double(first.epoch))), ("first_loss", num(first.loss)),
                                              ("epoch", .number(Double(e.epoch))), ("loss", num(e.loss)),
                                              ("factor", .number(riseFactor))]))
        }
        return oscillation(f)
    }

    /// The training loss swings with a large amplitude (see `oscillationRise`), though never
    /// above the first epoch's.
    static func oscillation(_ f: RunFigures) -> Finding? {
        var rises: [(epoch: Int, from: Double, to: Double)] = []
        for (a, b) in zip(f.epochs, f.epochs.dropFirst()) where a.loss.isFinite && b.loss.isFinite && a.loss > 0 {
            let lrRose = (a.lr ?? 0) < (b.lr ?? 0)
            if b.loss >= oscillationRise * a.loss && !lrRose { rises.append((b.epoch, a.loss, b.loss)) }
        }
        guard rises.count >= oscillationMinRises, let largest = rises.max(by: { $0.to / $0.from < $1.to / $1.from }) else { return nil }
        return Finding(code: "lr_too_high", message: "the training loss oscillates: it rose by 10 % or more from one epoch to the next \(rises.count) times: lower the learning rate ~3-10× (or decay it)",
                       evidence: .object([("rises", .array(rises.map { .object([("epoch", .number(Double($0.epoch))), ("from", num($0.from)), ("to", num($0.to))]) })),
                                          ("epoch", .number(Double(largest.epoch))), ("largest_rise", num(largest.to / largest.from)),
                                          ("factor", .number(oscillationRise))]))
    }

    static func lrTooLow(_ f: RunFigures) -> Finding? {
        let e = f.epochs
        guard e.count >= slowMinEpochs, e.allSatisfy({ $0.loss.isFinite }) else { return nil }
        let first = e[0].loss, last = e[e.count - 1].loss
        let meanDrop = (first - last) / Double(e.count - 1)
        let falling = zip(e, e.dropFirst()).allSatisfy { $1.loss < $0.loss }
        guard last > slowRemaining * first, falling, meanDrop >= slowMinDrop * first else { return nil }
        return Finding(code: "lr_too_low", message: "the loss falls slowly and almost linearly, far from converged: raise the learning rate ~10×",
                       evidence: .object([("first_epoch", .number(Double(e[0].epoch))), ("first_loss", num(first)),
                                          ("last_epoch", .number(Double(e[e.count - 1].epoch))), ("last_loss", num(last)),
                                          ("mean_drop_per_epoch", num(meanDrop))]))
    }

    static func underfitting(_ f: RunFigures) -> Finding? {
        guard let k = f.classes, k >= 2, f.epochs.count >= slowMinEpochs, let last = f.epochs.last, last.loss.isFinite else { return nil }
        let chance = log(Double(k))
        let highLoss = last.loss > underfitLoss * chance
        let lowAccuracy = last.accuracy.map { $0 <= underfitAccuracy / Double(k) } ?? false
        guard highLoss || lowAccuracy else { return nil }
        var ev: [(String, JSONValue)] = [("epoch", .number(Double(last.epoch))), ("loss", num(last.loss)),
                                         ("chance_loss", num(chance)), ("classes", .number(Double(k)))]
        if let a = last.accuracy { ev.append(("accuracy", num(a))) }
        return Finding(code: "underfitting", message: "the training loss stays high and flat, near a uniform guess: a better init (He for ReLU, Xavier for tanh), batch norm, a bigger model, or a higher learning rate if it is tiny",
                       evidence: .object(ev))
    }

    static func overfitting(_ f: RunFigures) -> Finding? {
        let v = f.epochs.filter { ($0.valLoss ?? .nan).isFinite && $0.loss.isFinite }
        guard v.count >= 2, let last = v.last, let lastVal = last.valLoss else { return nil }
        var best = v[0]
        for e in v where e.valLoss! < best.valLoss! { best = e }
        let minVal = best.valLoss!
        guard best.epoch != last.epoch, minVal > 0, lastVal >= overfitRise * minVal, last.loss < best.loss else { return nil }
        return Finding(code: "overfitting", message: "the validation loss rose above its minimum while the training loss kept falling: regularise (weight decay, dropout, augmentation) or stop early",
                       evidence: .object([("best_epoch", .number(Double(best.epoch))), ("best_val_loss", num(minVal)),
                                          ("last_epoch", .number(Double(last.epoch))), ("last_val_loss", num(lastVal)),
                                          ("train_loss_at_best", num(best.loss)), ("last_train_loss", num(last.loss)),
                                          ("gap_at_best", num(minVal - best.loss)), ("last_gap", num(lastVal - last.loss))]))
    }

    /// The relative spread of one batch's loss around the trend (see `noiseThreshold`), or nil
    /// with too few rows.
    public static func batchNoise(_ steps: [RunFigures.Step]) -> Double? {
        let s = steps.filter { $0.loss.isFinite }
        guard s.count >= noiseMinRows else { return nil }
        let h = noiseHalfWindow
        var ratios: [Double] = []
        for i in max(h, s.count / 2)..<(s.count - h) {
            var trend = 0.0
            for j in (i - h)...(i + h) { trend += s[j].loss }
            trend /= Double(2 * h + 1)
            if trend > 0 { ratios.append(s[i].loss / trend - 1) }
        }
        guard ratios.count >= 2 else { return nil }
        let mean = ratios.reduce(0, +) / Double(ratios.count)
        let variance = ratios.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(ratios.count - 1)
        // Steps per row: the typical gap between logged steps (log_every).
        let gaps = zip(s.dropFirst(), s).map { $0.step - $1.step }.filter { $0 > 0 }.sorted()
        let perRow = gaps.isEmpty ? 1 : gaps[gaps.count / 2]
        return variance.squareRoot() * Double(perRow).squareRoot()
    }

    static func noisy(_ f: RunFigures) -> Finding? {
        guard let noise = batchNoise(f.steps), noise > noiseThreshold else { return nil }
        return Finding(code: "noisy_batch_too_small", message: "the per-step loss scatters widely around its trend: use a bigger batch (or a lower learning rate)",
                       evidence: .object([("relative_batch_noise", num(noise)), ("threshold", .number(noiseThreshold)),
                                          ("rows", .number(Double(f.steps.count)))]))
    }
}

extension Diagnosis {
    /// Layer types that pass their input on unchanged in evaluation (not a hidden layer of
    /// their own for the activation rules).
    static let passThroughTypes: Set<String> = ["flatten", "dropout"]

    /// dead_relu, saturation, vanishing_activations and exploding_activations, from the
    /// layers.csv rows of the last epoch (none without layers.csv).
    static func layerFindings(_ f: RunFigures) -> [Finding] {
        guard let epoch = f.layers.map(\.epoch).max() else { return [] }
        let rows = f.layers.filter { $0.epoch == epoch }
        var out: [Finding] = []
        func list(_ rows: [RunFigures.Layer], _ value: (RunFigures.Layer) -> Double?, _ name: String) -> JSONValue {
            .array(rows.map { .object([("layer", .string($0.layer)), ("type", .string($0.type)), (name, num(value($0) ?? .nan))]) })
        }
        let dead = rows.filter { ($0.deadFraction ?? 0) >= deadFraction }
        if !dead.isEmpty {
            out.append(Finding(code: "dead_relu", message: "many ReLU units output 0 for every example: lower the learning rate, use He init or leaky ReLU",
                               evidence: .object([("epoch", .number(Double(epoch))), ("threshold", .number(deadFraction)),
                                                  ("layers", list(dead, \.deadFraction, "dead_fraction"))])))
        }
        let saturated = rows.filter { ($0.saturatedFraction ?? 0) >= saturatedFraction }
        if !saturated.isEmpty {
            out.append(Finding(code: "saturation", message: "sigmoid/tanh units sit at their bounds, where the gradient vanishes: use Xavier init, normalise the inputs or add batch norm",
                               evidence: .object([("epoch", .number(Double(epoch))), ("threshold", .number(saturatedFraction)),
                                                  ("layers", list(saturated, \.saturatedFraction, "saturated_fraction"))])))
        }
        // Hidden layers: all but the output layer, less those that pass their input on.
        let hidden = rows.dropLast().filter { !passThroughTypes.contains($0.type) && $0.actStd.isFinite }
        guard hidden.count >= 2, let first = hidden.first else { return out }
        let later = hidden.dropFirst()
        let smallest = later.min { $0.actStd < $1.actStd }!
        let largest = later.max { $0.actStd < $1.actStd }!
        func evidence(_ l: RunFigures.Layer) -> JSONValue {
            .object([("epoch", .number(Double(epoch))), ("first_layer", .string(first.layer)), ("first_act_std", num(first.actStd)),
                     ("layer", .string(l.layer)), ("act_std", num(l.actStd)), ("act_stds", .array(hidden.map { num($0.actStd) }))])
        }
        if smallest.actStd < vanishingRatio * first.actStd || hidden.contains(where: { $0.actStd < vanishingStd }) {
            let l = first.actStd < smallest.actStd ? first : smallest
            out.append(Finding(code: "vanishing_activations", message: "the activations shrink layer after layer (the gradients vanish with them): use Xavier init for tanh/sigmoid, He for ReLU, or batch norm",
                               evidence: evidence(l)))
        }
        if largest.actStd >= explodingRatio * first.actStd || hidden.contains(where: { $0.actStd > explodingStd }) {
            let l = first.actStd > largest.actStd ? first : largest
            out.append(Finding(code: "exploding_activations", message: "the activations grow layer after layer: use a smaller init (Xavier/He), batch norm or a lower learning rate",
                               evidence: evidence(l)))
        }
        return out
    }
}

extension Diagnosis {
    /// The number of classes of a classification config's model (nil for regression).
    public static func classes(_ config: ExperimentConfig) -> Int? {
        config.data.task == .classification ? ModelPlan(config: config).outputShape.reduce(1, *) : nil
    }
}
