import NNCore

/// Smith's learning-rate range test (`nntrain lr-find`, as Lightning's `Tuner.lr_find` and
/// fastai's `lr_find`): from the config's initial weights, step i of n trains at
///
///     lr_i = min·(max/min)^(i/(n−1))
///
/// (no schedule; the config's optimizer, data pipeline and regularization otherwise), records the
/// batch's mean loss and its smoothed value s_i = a_i / (1 − β^(i+1)), a_i = β·a_{i−1} + (1−β)·loss_i,
/// β = 0.98 (fastai's bias-corrected moving average), and stops once s_i > 4·min(s) or the loss is
/// not finite: the loss diverged, the normal end of a range test. The suggestion is the lr where
/// the smoothed loss falls fastest against log lr (`suggestion`).
public enum LRFinder {
    public struct Options {
        public var minLR = 1e-7
        public var maxLR = 10.0
        public var steps = 100
        /// Overrides `runs/<name>-lr-find`.
        public var outputDirectory: String?
        /// Write into a directory that holds a run or an earlier range test.
        public var force = false
        public var threads: Int?
        public var onEvent: (TrainingEvent) -> Void = { _ in }
        public var pendingSignal: () -> Int32 = { 0 }
        public init() {}
    }

    /// One step of the test: its rate, the batch's mean loss and the smoothed loss.
    public struct Point: Sendable, Equatable {
        public var step: Int
        public var lr: Double
        public var loss: Double
        public var smoothedLoss: Double
        public init(step: Int, lr: Double, loss: Double, smoothedLoss: Double) {
            self.step = step; self.lr = lr; self.loss = loss; self.smoothedLoss = smoothedLoss
        }
    }

    public struct Result {
        /// The finite steps, in order (the step whose loss was not finite is left out).
        public var points: [Point]
        /// The steps asked for.
        public var steps: Int
        /// The index in `points` of the suggestion; nil when too few steps ran.
        public var suggestionIndex: Int?
        /// The step (from 1) at which the test stopped on divergence; nil when all steps ran.
        public var divergedAtStep: Int?
        public var directory: String
        public var csv: String { directory + "/lr_find.csv" }
        public var svg: String { directory + "/lr_find.svg" }
        public var suggestedLR: Double? { suggestionIndex.map { points[$0].lr } }
        /// The lr of the lowest smoothed loss.
        public var minLossLR: Double? {
            points.indices.min { points[$0].smoothedLoss < points[$1].smoothedLoss }.map { points[$0].lr }
        }
    }

    public static let beta = 0.98
    public static let divergenceFactor = 4.0

    /// The rate of step `i` (from 0) of `steps`: min·(max/min)^(i/(steps−1)); `min` for one step.
    public static func learningRate(step i: Int, steps: Int, min: Double, max: Double) -> Double {
        guard steps > 1 else { return min }
        return min * pow(max / min, Double(i) / Double(steps - 1))
    }

    /// Lightning's `suggestion()`: drop the first `skipBegin` and the last `skipEnd` points, then
    /// the index (into all of them) of the most negative gradient of the smoothed loss with
    /// respect to log10(lr) (central differences, one-sided at the ends, as `torch.gradient`).
    /// Nil when fewer than two points remain.
    public static func suggestion(_ points: [Point], skipBegin: Int = 10, skipEnd: Int = 1) -> Int? {
        let kept = Array(points.indices.dropFirst(skipBegin).dropLast(skipEnd))
            .filter { points[$0].smoothedLoss.isFinite && points[$0].lr > 0 }
        guard kept.count >= 2 else { return nil }
        let x = kept.map { log10(points[$0].lr) }, y = kept.map { points[$0].smoothedLoss }
        var best = 0, bestSlope = Double.infinity
        for j in kept.indices {
            let slope: Double
            if j == 0 {
                slope = (y[1] - y[0]) / (x[1] - x[0])
            } else if j == kept.count - 1 {
                slope = (y[j] - y[j - 1]) / (x[j] - x[j - 1])
            } else {
                // torch.gradient's second-order estimate on uneven spacing.
                let h0 = x[j] - x[j - 1], h1 = x[j + 1] - x[j]
                slope = (h0 * h0 * y[j + 1] - h1 * h1 * y[j - 1] + (h1 * h1 - h0 * h0) * y[j]) / (h0 * h1 * (h0 + h1))
            }
            if slope < bestSlope { bestSlope = slope; best = j }
        }
        return kept[best]
    }

    /// Loads the data and builds the model as `nntrain run` does, runs the test and writes
    /// `lr_find.csv` and `lr_find.svg` into the directory (locked while it does).
    public static func run(_ config: ExperimentConfig, options: Options) throws(RunError) -> Result {
        let directory = options.outputDirectory ?? config.runDirectory + "-lr-find"
        let lock = try Experiment.lockRunDirectory(directory)
        do {
            let result = try runLocked(config, directory: directory, options: options)
            withExtendedLifetime(lock) {}
            return result
        } catch {
            withExtendedLifetime(lock) {}
            throw error
        }
    }

    static func runLocked(_ config: ExperimentConfig, directory: String, options: Options) throws(RunError) -> Result {
        if !options.force {
            if FileIO.exists(directory + "/lr_find.csv") {
                throw .config(["\(directory) already holds a range test; pass --force to replace it, or --out DIR to write elsewhere"])
            }
            if FileIO.exists(directory + "/curves.csv") || FileIO.exists(directory + "/summary.json")
                || FileIO.exists(Checkpoint.path(in: directory)) {
                throw .config(["\(directory) holds a training run; pass --out DIR to write the range test elsewhere, or --force to write it there"])
            }
        }
        guard options.minLR > 0, options.maxLR > options.minLR, options.minLR.isFinite, options.maxLR.isFinite else {
            throw .config(["--min and --max: expected 0 < min < max, got \(options.minLR) and \(options.maxLR)"])
        }
        var runOptions = Experiment.Options()
        runOptions.threads = options.threads
        runOptions.onEvent = options.onEvent
        runOptions.pendingSignal = options.pendingSignal
        let session = try Experiment.prepare(config, options: runOptions, threads: Experiment.threadCount(config: config, option: options.threads))
        let trainer = session.trainer
        var points: [Point] = []
        points.reserveCapacity(options.steps)
        var average = 0.0, best = Double.infinity
        var divergedAt: Int? = nil
        for i in 0..<options.steps {
            let lr = learningRate(step: i, steps: options.steps, min: options.minLR, max: options.maxLR)
            let signal = options.pendingSignal()
            if signal != 0 { throw .interrupted(signal: signal) }
            guard let loss = trainer.rangeTestStep(lr: Float(lr)) else { divergedAt = i + 1; break }
            average = beta * average + (1 - beta) * loss
            let smoothed = average / (1 - pow(beta, Double(i + 1)))
            points.append(Point(step: i + 1, lr: lr, loss: loss, smoothedLoss: smoothed))
            if !smoothed.isFinite || smoothed > divergenceFactor * best { divergedAt = i + 1; break }
            best = min(best, smoothed)
        }
        let result = Result(points: points, steps: options.steps, suggestionIndex: suggestion(points), divergedAtStep: divergedAt,
                            directory: directory)
        do {
            try FileIO.writeAtomically(result.csv, text: csv(points))
            try FileIO.writeAtomically(result.svg, text: LRFindPlot.svg(points, suggestion: result.suggestionIndex, title: config.name))
        } catch {
            throw .io("cannot write the range test: \(error)")
        }
        return result
    }

    /// `step,lr,loss,smoothed_loss`, one row per finite step.
    public static func csv(_ points: [Point]) -> String {
        var text = "step,lr,loss,smoothed_loss\n"
        for p in points { text += "\(p.step),\(p.lr),\(p.loss),\(p.smoothedLoss)\n" }
        return text
    }

    /// The result as `--json` prints it.
    public static func json(_ r: Result) -> JSONValue {
        func num(_ d: Double?) -> JSONValue { d.map { $0.isFinite ? .number($0) : .null } ?? .null }
        return .object([
            ("suggested_lr", num(r.suggestedLR)), ("min_loss_lr", num(r.minLossLR)), ("steps", .number(Double(r.points.count))),
            ("diverged_at_step", r.divergedAtStep.map { .number(Double($0)) } ?? .null),
            ("csv", .string(r.csv)), ("svg", .string(r.svg)),
        ])
    }
}

extension Trainer {
    /// One step of the range test at rate `lr`, through the named steps of `trainStep` (batch,
    /// forward, loss, backward, clip and L1, update, max-norm, count) without the schedule and
    /// the metrics; the epochs cycle (with their shuffle) when the steps outrun one. The batch's
    /// mean loss, or nil when the loss or (under on_nan "skip_batch") a gradient is not finite:
    /// the test stops there.
    func rangeTestStep(lr: Float) -> Double? {
        if state.stepInEpoch == stepsPerEpoch {
            state.epochsDone += 1
            state.stepInEpoch = 0
        }
        if state.stepInEpoch == 0 { beginEpoch() }
        let b = min(batchSize, train.count - state.stepInEpoch * batchSize)
        let (x, batchTargets) = nextBatch(b)
        let y = model.forward(x, mode: .training)
        let dy = outputGrad.view(batch: b)
        let result = loss.evaluate(y, targets: batchTargets, gradient: dy)
        guard backward(dy, lossSum: result.lossSum) else { return nil }
        let gradNorm = config.regularization.clipNorm == nil ? nil : model.store.gradientNorm()
        let transform = gradientTransform(gradNorm: gradNorm)
        transform.prepare(model.store)
        optimizer.step(model.store, lr: lr, l2: transform.l2)
        if let c = config.regularization.maxNorm { applyMaxNorm(model.store, c) }
        countStep(batch: b, lr: lr)
        return result.lossSum / max(result.weightSum, 1e-30)
    }
}
