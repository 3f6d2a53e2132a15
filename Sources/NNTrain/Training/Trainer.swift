import NNCore

/// The training loop (DESIGN §4): epochs of steps, each epoch ending with validation, the
/// curves row, early stopping, reduce_on_plateau and a checkpoint (`run`, here). One step's
/// rules run in a fixed order, each a named call, in `trainStep` (Trainer+Step.swift); the epoch
/// end's in Trainer+Epoch.swift. After `init`, a step allocates nothing.
public final class Trainer {
    public let config: ExperimentConfig
    public let model: Model
    public let loss: any Loss
    public let optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    /// The best epoch's record and when to stop (`training.early_stopping`).
    public let earlyStopping: EarlyStopping
    public let train: DataSplit
    public let validation: DataSplit?
    public let test: DataSplit?
    public let preprocessor: Preprocessor
    public var onEvent: (TrainingEvent) -> Void = { _ in }
    /// Polled after every step; a non-zero signal number stops the run as interrupted.
    public var pendingSignal: () -> Int32 = { 0 }
    /// BLAS threads, recorded in checkpoints (a resumed run uses the same for identical sums).
    public var threads = 1
    /// Stop (with `StopReason.paused`, after the checkpoint) once this many epochs are done.
    public var epochLimit: Int?
    /// When the data had been read, and when the first training step of this process began
    /// (start-up cost: preprocessing fit, model build, buffers; `seconds_to_first_step`).
    public var dataReadAt: Double?
    public internal(set) var firstStepAt: Double?

    let batchSize: Int
    let evalBatch: Int
    let input: BatchBuffer
    let targets: TensorStorage
    /// Raw feature rows for a PCA/ZCA preprocessing step (nil without one).
    let scratch: TensorStorage?
    /// Parameters before the epoch's last step (diagnostics' update ratio).
    var beforeLastStep: [Float]?
    var evalBatchSize: Int { evalBatch }
    var inputBuffer: BatchBuffer { input }
    var targetStorage: TensorStorage { targets }
    let outputGrad: BatchBuffer
    var order: [Int32]
    var shuffleRNG: Xoshiro256
    /// `data.augment`'s operations on numbers (images, features), with its own random stream.
    var augmenter: Augmenter?
    /// `data.augment`'s text operations (same stream), and room for a batch of their raw rows.
    let textAugmenter: TextAugmenter?
    let textRows: TensorStorage?
    var augmentRNG: Xoshiro256
    /// The augmentation stream as it was before the batch now pending in the prefetcher.
    var augmentRNGBeforePending: Xoshiro256?
    /// Prepares the next batch on a worker thread (with augmentation, `training.prefetch`).
    var prefetcher: BatchPrefetcher?
    /// The weights of the best epoch (early stopping's `restore_best`).
    var bestSnapshot: [Float]?

    public internal(set) var state = TrainerState()

    public init(config: ExperimentConfig, model: Model, train: DataSplit, validation: DataSplit?, test: DataSplit?,
                preprocessor: Preprocessor, textAugmenter: TextAugmenter? = nil) {
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
        earlyStopping = EarlyStopping(config.training.earlyStopping, hasValidation: validation != nil)
        let maxBatch = max(batchSize, evalBatch)
        model.allocate(maxBatch: maxBatch)
        input = BatchBuffer(sampleShape: Shape([1] + model.inputShape), maxBatch: maxBatch)
        targets = TensorStorage(capacity: maxBatch * train.dataset.targetWidth)
        scratch = preprocessor.projection == nil ? nil : TensorStorage(capacity: maxBatch * train.dataset.featureCount)
        outputGrad = BatchBuffer(sampleShape: Shape([1] + model.outputShape), maxBatch: maxBatch)
        order = train.indices
        shuffleRNG = Xoshiro256(seed: config.seed, stream: .shuffle)
        augmentRNG = Xoshiro256(seed: config.seed, stream: .augmentation)
        self.textAugmenter = textAugmenter
        textRows = textAugmenter == nil ? nil : TensorStorage(capacity: maxBatch * train.dataset.featureCount)
        let numeric = config.data.augment.filter { $0.textOperation == nil }
        if !numeric.isEmpty {
            var a = Augmenter(operations: numeric, sampleShape: model.inputShape)
            a.fitColors(on: train, preprocessor: preprocessor)
            augmenter = a
        }
        if augmenter != nil || textAugmenter != nil {
            if config.training.prefetch {
                let maxBatch = max(batchSize, evalBatch)
                let slots = (0..<2).map { _ in
                    BatchPrefetcher.Slot(input: BatchBuffer(sampleShape: Shape([1] + model.inputShape), maxBatch: maxBatch),
                                         targets: TensorStorage(capacity: maxBatch * train.dataset.targetWidth),
                                         scratch: preprocessor.projection == nil ? nil : TensorStorage(capacity: maxBatch * train.dataset.featureCount))
                }
                prefetcher = BatchPrefetcher(slots: slots) { [unowned self] slot, start, b in self.prepare(slot, start: start, batch: b) }
            }
        }
    }

    deinit { prefetcher?.shutdown() }

    /// Gathers, preprocesses and augments one training batch into `slot` (main or worker thread,
    /// never both at once).
    private func prepare(_ slot: BatchPrefetcher.Slot, start: Int, batch b: Int) {
        augmentRNGBeforePending = augmentRNG
        fillBatch(slot.input.view(batch: b), targets: slot.targets.base, start: start, batch: b, scratch: slot.scratch)
    }

    /// The training batch of `b` examples at `start` of the epoch order in `x` and `targets`:
    /// text augmentation (token ids, then encoding), preprocessing, augmentation of numbers.
    func fillBatch(_ x: Tensor, targets: UnsafeMutablePointer<Float>, start: Int, batch b: Int, scratch: TensorStorage?) {
        if let textAugmenter, let textRows {
            textAugmenter.encode(order[start..<(start + b)], into: textRows.base, rng: &augmentRNG)
            preprocessor.fill(x, rawRows: textRows.base, batch: b, scratch: scratch)
            preprocessor.fillTargets(targets, from: train, order: order, start: start, batch: b)
        } else {
            preprocessor.fill(x, targets: targets, from: train, order: order, start: start, batch: b, scratch: scratch)
        }
        augmenter?.apply(x, batch: b, rng: &augmentRNG)
    }

    /// The epoch and step of the checkpoint on disk (written or resumed from), if any.
    var savedCheckpoint: (epoch: Int, step: Int)?
    /// The run file that could not be written (a checkpoint, or a CSV row before it): the run
    /// stops at once, keeping the last good checkpoint (`savedCheckpoint`).
    public internal(set) var writeFailure: FileError?

    public var stepsPerEpoch: Int { schedule.stepsPerEpoch }
    public var globalStep: Int { state.globalStep }

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
        public var lastCurve: CurveRow?
        public var skippedBatches = 0
    }

    /// Trains until the configured epochs are done (or early stopping, divergence or a
    /// signal), continuing from the current state, writing rows and checkpoints to `files`;
    /// evaluates the test split at the end.
    public func run(files: RunFiles?) -> Outcome {
        let start = Clock.now()
        let epochs = config.training.epochs
        var stopReason = StopReason.completed
        var message: String? = nil
        var signal: Int32 = 0

        let stopAt = min(epochs, epochLimit ?? epochs)
        while state.epochsDone < stopAt {
            let epoch = state.epochsDone
            let epochStart = Clock.now()
            if state.stepInEpoch == 0 { beginEpoch() }
            let failure = trainSteps(epoch: epoch, files: files)
            let trainedAt = Clock.now()
            state.epochSeconds += trainedAt - epochStart
            if let failure {
                stopReason = failure.reason
                message = failure.message
                signal = failure.signal
                // An interrupted run keeps its place: the checkpoint holds the half-done epoch.
                if stopReason == .interrupted { saveCheckpoint(files) }
                break
            }
            if let dead = deadEpochMessage(epoch) {
                stopReason = .diverged
                message = dead
                break
            }
            // The epoch is complete: validation and the curves row, the rules, a checkpoint.
            let row = finishEpoch(epoch, trainedAt: trainedAt, files: files)
            if let l = row.valLoss, !l.isFinite {
                // Weights that give a NaN/Inf validation loss are not worth a checkpoint.
                stopReason = .diverged
                message = "training diverged: the validation loss is \(l.isNaN ? "NaN" : "infinite") after epoch \(epoch + 1). " + divergenceAdvice(lr: state.lastLR) + onDisk()
                break
            }
            trackBestEpoch(row, epoch: epoch)
            reduceOnPlateau(row)
            saveSnapshot(row, epoch: epoch, files: files)
            saveCheckpoint(files)
            if writeFailure != nil { break }
            if earlyStopping.shouldStop(state) {
                stopReason = .earlyStopping
                onEvent(.earlyStopped(epoch: epoch + 1, bestEpoch: state.bestEpoch ?? epoch + 1))
                break
            }
        }
        if stopReason == .completed && state.epochsDone < epochs { stopReason = .paused }
        if stopReason == .completed || stopReason == .earlyStopping, let snap = bestSnapshot, let be = state.bestEpoch,
           be != state.epochsDone {
            model.restore(snap)
            onEvent(.message("restored the weights of epoch \(be), the best by \(config.training.earlyStopping?.monitor.rawValue ?? "val_loss")"))
        }
        var outcome = Outcome(stopReason: stopReason, epochsRun: state.epochsDone, bestEpoch: state.bestEpoch,
                              bestValLoss: state.bestValLoss, bestValAccuracy: state.bestValAccuracy,
                              trainSeconds: state.trainSeconds, samplesTrained: state.samplesTrained, seconds: 0,
                              message: message, interruptSignal: signal, lastCurve: state.lastCurve,
                              skippedBatches: state.skippedBatches)
        if stopReason == .completed || stopReason == .earlyStopping, let t = test, t.count > 0 {
            let (l, a) = evaluate(t)
            outcome.testLoss = l
            outcome.testAccuracy = a
            if !l.isFinite {
                outcome.stopReason = .diverged
                outcome.message = "training diverged: the test loss is \(l.isNaN ? "NaN" : "infinite") with the final weights. " + divergenceAdvice(lr: state.lastLR) + onDisk()
            }
        }
        outcome.seconds = Clock.now() - start
        return outcome
    }

    /// The rate of a step: the schedule, times reduce_on_plateau's scale.
    func learningRate(epoch: Int, step: Int) -> Float {
        let lr = schedule.learningRate(epoch: epoch, step: step)
        return config.schedule.kind == .reduceOnPlateau ? Float(Double(lr) * state.plateau.scale) : lr
    }
}
