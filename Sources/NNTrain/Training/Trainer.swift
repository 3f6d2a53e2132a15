import NNCore

/// The training loop (DESIGN §4): shuffle, batch, forward, loss, backward, clip, optimizer
/// step, metrics, validation, early stopping and the run files. The order of one step is fixed
/// and visible in `trainEpoch`. After `init`, a step allocates nothing.
public final class Trainer {
    public let config: ExperimentConfig
    public let model: Model
    public let loss: any Loss
    public let optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    public let train: DataSplit
    public let validation: DataSplit?
    public let test: DataSplit?
    public let preprocessor: Preprocessor
    public var onEvent: (TrainingEvent) -> Void = { _ in }
    /// Polled after every step; a non-zero signal number stops the run as interrupted.
    public var pendingSignal: () -> Int32 = { 0 }

    private let batchSize: Int
    private let evalBatch: Int
    private let input: BatchBuffer
    private let targets: TensorStorage
    private let outputGrad: BatchBuffer
    private var order: [Int32]
    private var shuffleRNG: Xoshiro256
    private let outputWidth: Int

    public private(set) var globalStep = 0
    public private(set) var curves: [CurveRow] = []

    public init(config: ExperimentConfig, model: Model, train: DataSplit, validation: DataSplit?, test: DataSplit?,
                preprocessor: Preprocessor) {
        self.config = config
        self.model = model
        self.train = train
        self.validation = validation
        self.test = test
        self.preprocessor = preprocessor
        loss = config.loss.makeLoss(task: config.data.task)
        optimizer = config.optimizer.makeOptimizer(parameterCount: model.store.count)
        batchSize = min(config.training.batchSize, max(1, train.count))
        evalBatch = config.training.evalBatchSize
        let steps = (train.count + batchSize - 1) / batchSize
        schedule = config.learningRateSchedule(stepsPerEpoch: steps)
        let maxBatch = max(batchSize, evalBatch)
        model.allocate(maxBatch: maxBatch)
        input = BatchBuffer(sampleShape: Shape([1] + model.inputShape), maxBatch: maxBatch)
        outputWidth = model.outputShape.reduce(1, *)
        targets = TensorStorage(capacity: maxBatch * train.dataset.targetWidth)
        outputGrad = BatchBuffer(sampleShape: Shape([1] + model.outputShape), maxBatch: maxBatch)
        order = train.indices
        shuffleRNG = Xoshiro256(seed: config.seed, stream: .shuffle)
    }

    public var stepsPerEpoch: Int { schedule.stepsPerEpoch }

    public struct Outcome {
        public var stopReason: StopReason
        public var epochsRun: Int
        public var bestEpoch: Int?
        public var bestValLoss: Double?
        public var bestValAccuracy: Double?
        public var testLoss: Double?
        public var testAccuracy: Double?
        public var trainSeconds: Double
        public var samplesTrained: Int
        public var seconds: Double
        public var message: String?
        public var interruptSignal: Int32 = 0
    }

    /// Trains for the configured epochs (or until early stopping, divergence or a signal),
    /// writing rows to `files` as it goes; evaluates the test split at the end.
    public func run(files: RunFiles?) -> Outcome {
        let start = Clock.now()
        let epochs = config.training.epochs
        let es = config.training.earlyStopping
        var best: Double? = nil
        var bestEpoch: Int? = nil
        var bestSnapshot: [Float]? = nil
        var wait = 0
        var bestValLoss: Double? = nil, bestValAccuracy: Double? = nil
        var outcome = Outcome(stopReason: .completed, epochsRun: 0, trainSeconds: 0, samplesTrained: 0, seconds: 0)
        let hasParameters = model.store.count > 0

        for epoch in 0..<epochs {
            let epochStart = Clock.now()
            let r = trainEpoch(epoch, files: files)
            outcome.trainSeconds += r.seconds
            outcome.samplesTrained += r.samples
            if let failure = r.failure {
                outcome.stopReason = failure.0
                outcome.message = failure.1
                outcome.interruptSignal = failure.2
                if r.samples == 0 { break }
            }
            var row = CurveRow(epoch: epoch + 1, step: globalStep, lr: r.lastLR, loss: r.loss, accuracy: r.accuracy,
                               valLoss: nil, valAccuracy: nil, seconds: 0)
            if outcome.stopReason == .completed, let v = validation, v.count > 0 {
                let (l, a) = evaluate(v)
                row.valLoss = l
                row.valAccuracy = a
                if l.isFinite { bestValLoss = min(bestValLoss ?? l, l) }
                if let a { bestValAccuracy = max(bestValAccuracy ?? a, a) }
            }
            row.seconds = Clock.now() - epochStart
            curves.append(row)
            files?.append(row)
            outcome.epochsRun = epoch + 1
            onEvent(.epochEnded(row, epochs: epochs))
            if outcome.stopReason != .completed { break }

            // Best epoch: the early-stopping metric, else val_loss, else training loss.
            let monitor = es?.monitor ?? (validation != nil ? "val_loss" : "loss")
            let maximize = monitor.hasSuffix("accuracy")
            if let value = row.metric(monitor), value.isFinite {
                let delta = es?.minDelta ?? 0
                let improved = best == nil || (maximize ? value > best! + delta : value < best! - delta)
                if improved {
                    best = value
                    bestEpoch = epoch + 1
                    wait = 0
                    if es?.restoreBest == true && hasParameters { bestSnapshot = model.store.snapshot() }
                } else {
                    wait += 1
                }
            }
            // Keras semantics: stop once `patience` epochs in a row did not improve.
            if let es, wait > 0 && wait >= es.patience {
                outcome.stopReason = .earlyStopping
                onEvent(.earlyStopped(epoch: epoch + 1, bestEpoch: bestEpoch ?? epoch + 1))
                break
            }
        }
        if let snap = bestSnapshot, let be = bestEpoch, be != outcome.epochsRun, outcome.stopReason != .diverged {
            model.store.restore(snap)
            onEvent(.message("restored the weights of epoch \(be), the best by \(es?.monitor ?? "val_loss")"))
        }
        outcome.bestEpoch = bestEpoch
        outcome.bestValLoss = bestValLoss
        outcome.bestValAccuracy = bestValAccuracy
        if outcome.stopReason != .diverged, let t = test, t.count > 0 {
            let (l, a) = evaluate(t)
            outcome.testLoss = l
            outcome.testAccuracy = a
        }
        outcome.seconds = Clock.now() - start
        return outcome
    }

    struct EpochResult {
        var loss: Double
        var accuracy: Double?
        var samples: Int
        var seconds: Double
        var lastLR: Float
        var failure: (StopReason, String, Int32)?
    }

    /// One epoch: the step order is fixed here.
    func trainEpoch(_ epoch: Int, files: RunFiles?) -> EpochResult {
        let t0 = Clock.now()
        if config.training.shuffle { shuffleRNG.shuffle(&order) }
        let n = train.count
        let steps = stepsPerEpoch
        let reg = config.regularization
        let classification = config.data.task == .classification
        var lossSum = 0.0, correct = 0, seen = 0
        var logLossSum = 0.0, logCount = 0
        var lr: Float = 0
        let logEvery = config.training.logEvery
        for s in 0..<steps {
            let start = s * batchSize
            let b = min(batchSize, n - start)
            // 1. batch: gather + preprocess
            let x = input.view(batch: b)
            preprocessor.fill(x, targets: targets.base, from: train, order: order, start: start, batch: b)
            // 2. forward, 3. loss and its gradient
            let y = model.forward(x, mode: .training)
            let dy = outputGrad.view(batch: b)
            let result = loss.evaluate(y, targets: targets.base, gradient: dy)
            let batchLoss = result.lossSum / Double(b)
            if !batchLoss.isFinite {
                let message = divergenceMessage(step: globalStep + 1, epoch: epoch + 1, lr: schedule.learningRate(epoch: epoch, step: globalStep))
                return EpochResult(loss: seen > 0 ? lossSum / Double(seen) : .nan, accuracy: nil, samples: seen,
                                   seconds: Clock.now() - t0, lastLR: lr, failure: (.diverged, message, 0))
            }
            // 4. backward
            model.backward(dy)
            // 5. gradient norm (pre-clip) and clipping
            lr = schedule.learningRate(epoch: epoch, step: globalStep)
            let logging = (globalStep + 1) % logEvery == 0
            var gradNorm: Double? = nil
            var transform = GradientTransform(clipValue: reg.clipValue, l2: reg.l2, l1: reg.l1)
            if reg.clipNorm != nil || logging {
                let norm = model.store.gradientNorm()
                gradNorm = norm
                if let c = reg.clipNorm, norm > Double(c) { transform.scale = Float(Double(c) / (norm + 1e-6)) }
            }
            // 6. optimizer step (+ max-norm constraint)
            optimizer.step(model.store, lr: lr, transform: transform)
            if let c = reg.maxNorm { applyMaxNorm(model.store, c) }
            globalStep += 1
            // 7. metrics and the steps.csv row
            lossSum += result.lossSum
            correct += result.correct
            seen += b
            logLossSum += result.lossSum
            logCount += b
            if logging {
                files?.appendStep(step: globalStep, epoch: epoch + 1, lr: lr, loss: logLossSum / Double(logCount), gradNorm: gradNorm)
                logLossSum = 0; logCount = 0
            }
            onEvent(.step(epoch: epoch + 1, stepInEpoch: s + 1, stepsPerEpoch: steps, loss: lossSum / Double(seen)))
            let sig = pendingSignal()
            if sig != 0 {
                return EpochResult(loss: lossSum / Double(seen), accuracy: classification ? Double(correct) / Double(seen) : nil,
                                   samples: seen, seconds: Clock.now() - t0, lastLR: lr,
                                   failure: (.interrupted, "interrupted by signal \(sig) at step \(globalStep)", sig))
            }
        }
        return EpochResult(loss: lossSum / Double(max(seen, 1)), accuracy: classification ? Double(correct) / Double(max(seen, 1)) : nil,
                           samples: seen, seconds: Clock.now() - t0, lastLR: lr, failure: nil)
    }

    /// Mean loss and accuracy (nil for regression) of `split` in evaluation mode.
    public func evaluate(_ split: DataSplit) -> (loss: Double, accuracy: Double?) {
        var lossSum = 0.0, correct = 0
        var start = 0
        while start < split.count {
            let b = min(evalBatch, split.count - start)
            let x = input.view(batch: b)
            preprocessor.fill(x, targets: targets.base, from: split, start: start, batch: b)
            let y = model.forward(x, mode: .evaluation)
            let r = loss.evaluate(y, targets: targets.base, gradient: nil)
            lossSum += r.lossSum
            correct += r.correct
            start += b
        }
        let n = Double(max(split.count, 1))
        return (lossSum / n, config.data.task == .classification ? Double(correct) / n : nil)
    }

    func divergenceMessage(step: Int, epoch: Int, lr: Float) -> String {
        "training diverged: the loss became NaN or infinite at step \(step) (epoch \(epoch), lr \(lr)). "
            + "A learning rate that is too high is the usual cause: try a lower optimizer.lr (e.g. \(lr / 10)), "
            + "a warmup (schedule.warmup_epochs) or gradient clipping (regularization.clip.norm)."
    }
}
