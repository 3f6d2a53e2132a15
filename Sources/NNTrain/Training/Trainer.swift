import NNCore

/// The training loop (DESIGN §4): shuffle, batch, forward, loss, backward, clip, optimizer
/// step, metrics, validation, early stopping, checkpoints and the run files. The order of one
/// step is fixed and visible in `trainSteps`. After `init`, a step allocates nothing.
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
    /// BLAS threads, recorded in checkpoints (a resumed run uses the same for identical sums).
    public var threads = 1
    /// Stop (with `StopReason.paused`, after the checkpoint) once this many epochs are done.
    public var epochLimit: Int?
    /// When the data had been read, and when the first training step of this process began
    /// (start-up cost: preprocessing fit, model build, buffers; `seconds_to_first_step`).
    public var dataReadAt: Double?
    public private(set) var firstStepAt: Double?

    private let batchSize: Int
    private let evalBatch: Int
    private let input: BatchBuffer
    private let targets: TensorStorage
    /// Raw feature rows for a PCA/ZCA preprocessing step (nil without one).
    let scratch: TensorStorage?
    /// Parameters before the epoch's last step (diagnostics' update ratio).
    private var beforeLastStep: [Float]?
    var evalBatchSize: Int { evalBatch }
    var inputBuffer: BatchBuffer { input }
    var targetStorage: TensorStorage { targets }
    private let outputGrad: BatchBuffer
    private var order: [Int32]
    private var shuffleRNG: Xoshiro256
    /// `data.augment`, with its own random stream.
    var augmenter: Augmenter?
    private var augmentRNG: Xoshiro256
    /// The augmentation stream as it was before the batch now pending in the prefetcher.
    private var augmentRNGBeforePending: Xoshiro256?
    /// Prepares the next batch on a worker thread (with augmentation, `training.prefetch`).
    private var prefetcher: BatchPrefetcher?
    private var bestSnapshot: [Float]?

    public private(set) var state = TrainerState()

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
        targets = TensorStorage(capacity: maxBatch * train.dataset.targetWidth)
        scratch = preprocessor.projection == nil ? nil : TensorStorage(capacity: maxBatch * train.dataset.featureCount)
        outputGrad = BatchBuffer(sampleShape: Shape([1] + model.outputShape), maxBatch: maxBatch)
        order = train.indices
        shuffleRNG = Xoshiro256(seed: config.seed, stream: .shuffle)
        augmentRNG = Xoshiro256(seed: config.seed, stream: .augmentation)
        if !config.data.augment.isEmpty {
            var a = Augmenter(operations: config.data.augment, sampleShape: model.inputShape)
            a.fitColors(on: train, preprocessor: preprocessor)
            augmenter = a
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
        let x = slot.input.view(batch: b)
        preprocessor.fill(x, targets: slot.targets.base, from: train, order: order, start: start, batch: b, scratch: slot.scratch)
        augmenter?.apply(x, batch: b, rng: &augmentRNG)
    }

    /// The epoch and step of the checkpoint on disk (written or resumed from), if any.
    var savedCheckpoint: (epoch: Int, step: Int)?
    /// The run file that could not be written (a checkpoint, or a CSV row before it): the run
    /// stops at once, keeping the last good checkpoint (`savedCheckpoint`).
    public private(set) var writeFailure: FileError?

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
        let es = config.training.earlyStopping
        var stopReason = StopReason.completed
        var message: String? = nil
        var signal: Int32 = 0

        let stopAt = min(epochs, epochLimit ?? epochs)
        while state.epochsDone < stopAt {
            let epoch = state.epochsDone
            let epochStart = Clock.now()
            if state.stepInEpoch == 0 {
                if config.training.shuffle { shuffleRNG.shuffle(&order) }
                state.epochLossSum = 0; state.epochCorrect = 0; state.epochSeen = 0; state.epochWeight = 0
                state.epochSeconds = 0
            }
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
            // An epoch whose every batch was skipped (on_nan "skip_batch") trained nothing: the
            // run is dead, whatever the exit of the loop says.
            if state.epochSeen == 0 && train.count > 0 {
                stopReason = .diverged
                message = "training diverged: every batch of epoch \(epoch + 1) had a NaN or infinite loss or gradient and was skipped "
                    + "(training.on_nan \"skip_batch\", \(state.skippedBatches) skipped in all). " + divergenceAdvice(lr: state.lastLR) + onDisk()
                break
            }
            // The epoch is complete: validation, the curves row, early stopping, a checkpoint.
            let classification = config.data.task == .classification
            let seen = Double(max(state.epochSeen, 1))
            var row = CurveRow(epoch: epoch + 1, step: state.globalStep, lr: state.lastLR,
                               loss: state.epochLossSum / max(state.epochWeight, 1e-30),
                               accuracy: classification ? Double(state.epochCorrect) / seen : nil,
                               valLoss: nil, valAccuracy: nil, seconds: 0)
            if let v = validation, v.count > 0 {
                let (l, a) = evaluate(v)
                row.valLoss = l
                row.valAccuracy = a
                if l.isFinite { state.bestValLoss = min(state.bestValLoss ?? l, l) }
                if let a { state.bestValAccuracy = max(state.bestValAccuracy ?? a, a) }
            }
            row.seconds = state.epochSeconds + (Clock.now() - trainedAt)
            files?.append(row)
            if config.diagnostics {
                for d in diagnose(before: beforeLastStep, specs: config.model.layers) { files?.appendLayer(d, epoch: epoch + 1) }
                beforeLastStep = nil
            }
            state.lastCurve = row
            state.epochsDone = epoch + 1
            state.stepInEpoch = 0
            onEvent(.epochEnded(row, epochs: epochs))
            if let l = row.valLoss, !l.isFinite {
                // Weights that give a NaN/Inf validation loss are not worth a checkpoint.
                stopReason = .diverged
                message = "training diverged: the validation loss is \(l.isNaN ? "NaN" : "infinite") after epoch \(epoch + 1). " + divergenceAdvice(lr: state.lastLR) + onDisk()
                break
            }

            // Best epoch: the early-stopping metric, else val_loss, else training loss.
            let monitor = es?.monitor ?? (validation != nil ? "val_loss" : "loss")
            let maximize = es?.maximize ?? monitor.hasSuffix("accuracy")
            if let value = row.metric(monitor), value.isFinite {
                let delta = es?.minDelta ?? 0
                let improved = state.best.map { maximize ? value > $0 + delta : value < $0 - delta } ?? true
                if improved {
                    state.best = value
                    state.bestEpoch = epoch + 1
                    state.wait = 0
                    if es?.restoreBest == true && model.store.count > 0 { bestSnapshot = model.snapshot() }
                } else {
                    state.wait += 1
                }
            }
            if config.schedule.kind == .reduceOnPlateau, let value = row.metric(config.schedule.monitor), value.isFinite {
                let before = state.plateau.scale
                state.plateau.update(value, config: config.schedule, baseLR: config.optimizer.lr)
                if state.plateau.scale != before {
                    onEvent(.message("reduce_on_plateau: \(config.schedule.monitor) stopped improving; lr now \(Double(config.optimizer.lr) * state.plateau.scale)"))
                }
            }
            saveCheckpoint(files)
            if writeFailure != nil { break }
            // Keras semantics: stop once `patience` epochs in a row did not improve.
            if let es, state.wait > 0 && state.wait >= es.patience {
                stopReason = .earlyStopping
                onEvent(.earlyStopped(epoch: epoch + 1, bestEpoch: state.bestEpoch ?? epoch + 1))
                break
            }
        }
        if stopReason == .completed && state.epochsDone < epochs { stopReason = .paused }
        if stopReason == .completed || stopReason == .earlyStopping, let snap = bestSnapshot, let be = state.bestEpoch,
           be != state.epochsDone {
            model.restore(snap)
            onEvent(.message("restored the weights of epoch \(be), the best by \(es?.monitor ?? "val_loss")"))
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

    struct Failure {
        var reason: StopReason
        var message: String
        var signal: Int32 = 0
    }

    /// The steps of one epoch from `state.stepInEpoch` on. The order of a step is fixed here.
    func trainSteps(epoch: Int, files: RunFiles?) -> Failure? {
        let n = train.count
        let steps = stepsPerEpoch
        let reg = config.regularization
        let logEvery = config.training.logEvery
        let skipNaN = config.training.onNaN == .skipBatch
        let checkpointEvery = config.training.checkpointEverySteps
        while state.stepInEpoch < steps {
            let t0 = Clock.now()
            if firstStepAt == nil { firstStepAt = t0 }
            let start = state.stepInEpoch * batchSize
            let b = min(batchSize, n - start)
            // 1. batch: gather + preprocess + augment (prepared ahead on the worker when prefetching)
            let x: Tensor
            let batchTargets: UnsafeMutablePointer<Float>
            if let prefetcher {
                let slot = prefetcher.take(step: state.globalStep, start: start, batch: b)
                x = slot.input.view(batch: b)
                batchTargets = slot.targets.base
                if state.stepInEpoch + 1 < steps {
                    let next = (state.stepInEpoch + 1) * batchSize
                    prefetcher.prefetch(step: state.globalStep + 1, start: next, batch: min(batchSize, n - next))
                }
            } else {
                x = input.view(batch: b)
                batchTargets = targets.base
                preprocessor.fill(x, targets: batchTargets, from: train, order: order, start: start, batch: b, scratch: scratch)
                augmenter?.apply(x, batch: b, rng: &augmentRNG)
            }
            // 2. forward, 3. loss and its gradient
            let y = model.forward(x, mode: .training)
            let dy = outputGrad.view(batch: b)
            let result = loss.evaluate(y, targets: batchTargets, gradient: dy)
            let lr = learningRate(epoch: epoch, step: state.globalStep)
            // 4. backward
            var finite = result.lossSum.isFinite
            if finite { model.backward(dy) }
            if finite && skipNaN { finite = model.store.gradientsAreFinite() }
            if !finite {
                if !skipNaN {
                    return Failure(reason: .diverged, message: divergenceMessage(step: state.globalStep + 1, epoch: epoch + 1, lr: lr))
                }
                // on_nan "skip_batch": no update; the step still counts.
                state.skippedBatches += 1
                onEvent(.message("step \(state.globalStep + 1): NaN/Inf loss or gradient, batch skipped (training.on_nan)"))
            } else {
                // 5. gradient norm (pre-clip) and clipping
                let logging = (state.globalStep + 1) % logEvery == 0
                var gradNorm: Double? = nil
                var transform = GradientTransform(clipValue: reg.clipValue, l2: reg.l2, l1: reg.l1)
                if reg.clipNorm != nil || logging {
                    let norm = model.store.gradientNorm()
                    gradNorm = norm
                    if let c = reg.clipNorm, norm > Double(c) { transform.scale = Float(Double(c) / (norm + 1e-6)) }
                }
                // 6. optimizer step (+ max-norm constraint)
                if config.diagnostics && state.stepInEpoch == steps - 1 { beforeLastStep = model.store.snapshot() }
                optimizer.step(model.store, lr: lr, transform: transform)
                if let c = reg.maxNorm { applyMaxNorm(model.store, c) }
                // 7. metrics and the steps.csv row
                state.epochLossSum += result.lossSum
                state.epochCorrect += result.correct
                state.epochSeen += b
                state.epochWeight += result.weightSum
                state.logLossSum += result.lossSum
                state.logWeight += result.weightSum
                if logging {
                    files?.appendStep(step: state.globalStep + 1, epoch: epoch + 1, lr: lr,
                                      loss: state.logLossSum / max(state.logWeight, 1e-30), gradNorm: gradNorm)
                    state.logLossSum = 0; state.logWeight = 0
                }
            }
            state.globalStep += 1
            state.stepInEpoch += 1
            state.lastLR = lr
            state.samplesTrained += b
            state.trainSeconds += Clock.now() - t0
            onEvent(.step(epoch: epoch + 1, stepInEpoch: state.stepInEpoch, stepsPerEpoch: steps,
                          loss: state.epochLossSum / max(state.epochWeight, 1e-30)))
            let sig = pendingSignal()
            if sig != 0 {
                return Failure(reason: .interrupted, message: "interrupted by signal \(sig) at step \(state.globalStep)", signal: sig)
            }
            if let every = checkpointEvery, state.globalStep % every == 0, state.stepInEpoch < steps {
                saveCheckpoint(files)
                if writeFailure != nil { return Failure(reason: .paused, message: "a run file could not be written") }
            }
        }
        return nil
    }

    /// The rate of a step: the schedule, times reduce_on_plateau's factor.
    func learningRate(epoch: Int, step: Int) -> Float {
        let lr = schedule.learningRate(epoch: epoch, step: step)
        return config.schedule.kind == .reduceOnPlateau ? Float(Double(lr) * state.plateau.scale) : lr
    }

    /// Mean loss and accuracy (nil for regression) of `split` in evaluation mode.
    public func evaluate(_ split: DataSplit) -> (loss: Double, accuracy: Double?) {
        var lossSum = 0.0, correct = 0, weight = 0.0
        var start = 0
        model.beginEvaluation()
        defer { model.endEvaluation() }
        while start < split.count {
            let b = min(evalBatch, split.count - start)
            let x = input.view(batch: b)
            preprocessor.fill(x, targets: targets.base, from: split, start: start, batch: b, scratch: scratch)
            let y = model.forward(x, mode: .evaluation)
            let r = loss.evaluate(y, targets: targets.base, gradient: nil)
            lossSum += r.lossSum
            correct += r.correct
            weight += r.weightSum
            start += b
        }
        let n = Double(max(split.count, 1))
        return (lossSum / max(weight, 1e-30), config.data.task == .classification ? Double(correct) / n : nil)
    }

    func divergenceMessage(step: Int, epoch: Int, lr: Float) -> String {
        "training diverged: the loss became NaN or infinite at step \(step) (epoch \(epoch), lr \(lr)). "
            + divergenceAdvice(lr: lr) + onDisk()
    }

    /// Advice that follows the evidence. Before the first update of a fresh run the weights are
    /// the initial ones and the learning rate has done nothing yet: non-finite or huge initial
    /// weights are named (model.from or model.init), else the inputs and initial weights are
    /// suspects. Only after updates is a too-high learning rate the usual cause; the lower rate
    /// suggested is always a finite, positive number.
    func divergenceAdvice(lr: Float) -> String {
        let updates = state.globalStep - state.skippedBatches
        if updates <= 0 && savedCheckpoint == nil {
            if let w = initialWeightProblem() { return w }
            return "This happened before any update, so the learning rate is not the cause: check the inputs "
                + "(data and data.preprocess) and the initial weights (model.init, model.from). "
        }
        let lower = Double(lr) / 10
        let example = lower.isFinite && lower > 0 ? " (e.g. \(significant(lower, 3)))" : ""
        return "A learning rate that is too high is the usual cause: try a lower optimizer.lr\(example), "
            + "a warmup (schedule.warmup_epochs) or gradient clipping (regularization.clip.norm). "
    }

    /// The largest initial weight magnitude that is still plausible: default inits keep |w| of
    /// a few units; 1e4 is far past any of them and far below what overflows a forward pass.
    static let plausibleWeight: Float = 1e4

    /// What is wrong with the current weights when they are the initial ones, naming the first
    /// parameter that is not finite or implausibly large and where it came from; nil if nothing.
    func initialWeightProblem() -> String? {
        var huge: (name: String, value: Float)? = nil
        for p in model.store.parameters {
            let v = UnsafeBufferPointer(start: p.value.pointer, count: p.value.count)
            if let bad = v.first(where: { !$0.isFinite }) {
                let what = bad.isNaN ? "NaN" : "infinite"
                if let from = config.model.from {
                    return "The initial weights are not finite: \(p.name) holds \(what) values after loading model.from (\(from)), "
                        + "so the learning rate is not the cause; check that file. "
                }
                return "The initial weights are not finite: \(p.name) holds \(what) values from model.init, "
                    + "so the learning rate is not the cause; use a smaller init std or gain. "
            }
            if huge == nil, let m = v.max(by: { abs($0) < abs($1) }), abs(m) > Trainer.plausibleWeight {
                huge = (p.name, abs(m))
            }
        }
        guard let huge else { return nil }
        let source = config.model.from.map { "model.from (\($0)) or model.init" } ?? "model.init"
        return "The initial weights are huge: \(huge.name) has |w| up to \(significant(Double(huge.value), 3)) before any update, "
            + "so the learning rate is not the cause; check \(source) (its std or gain). "
    }

    /// What a diverged run leaves on disk, as it is: the last checkpoint written, or none.
    func onDisk() -> String {
        guard let saved = savedCheckpoint else {
            return "No checkpoint was written before the divergence and no weights are saved."
        }
        return "No weights are saved; checkpoint/ holds the state after epoch \(saved.epoch) (step \(saved.step))."
    }

    // MARK: - Checkpoints

    /// The checkpoint of the current state.
    public func checkpoint() -> Checkpoint {
        var buffersOfOptimizer: [String: [Float]] = [:]
        for (name, s) in optimizer.stateBuffers {
            buffersOfOptimizer[name] = Array(UnsafeBufferPointer(start: s.base, count: s.capacity))
        }
        // A batch prepared ahead has already drawn from the augmentation stream: save the state
        // from before it, so a resumed run draws that batch again.
        prefetcher?.settle()
        let augmentState = prefetcher?.pendingStep != nil ? (augmentRNGBeforePending ?? augmentRNG) : augmentRNG
        var rngs: [String: [UInt64]] = ["shuffle": shuffleRNG.state, "augmentation": augmentState.state]
        for l in model.allLayers { if let r = l.randomState { rngs[l.name] = r } }
        var buffers: [String: [Float]] = [:]
        for (name, t) in model.buffers { buffers[name] = t.scalars }
        return Checkpoint(state: state, parameters: model.store.snapshot(), optimizerStep: optimizer.stepCount,
                          optimizerBuffers: buffersOfOptimizer, bestParameters: bestSnapshot, order: order, randomStates: rngs,
                          layerBuffers: buffers, threads: threads, config: config.resolved)
    }

    /// Writes the checkpoint, unless a run file already failed: a checkpoint must not claim
    /// rows that curves.csv or steps.csv lack. A failure is kept in `writeFailure` (the run
    /// stops); the checkpoint on disk is then still the last good one (the write is atomic).
    private func saveCheckpoint(_ files: RunFiles?) {
        guard let files, writeFailure == nil else { return }
        if let e = files.writeError {
            writeFailure = e
            return
        }
        do {
            try checkpoint().write(to: files.directory)
            savedCheckpoint = (state.epochsDone, state.globalStep)
        } catch {
            writeFailure = error
        }
    }

    /// Continues from a checkpoint of the same config. Everything is checked before anything
    /// changes: a checkpoint that does not fit this model or data (a config changed with
    /// `--force`, or `training.epochs` below the epochs done) is a config error (exit 2); fields
    /// that contradict each other, the config they were saved with or the data (an order that
    /// is not an arrangement of the training examples, a step past the epoch's end) make it an
    /// unusable file (exit 3). Both name the file.
    public func restore(_ c: Checkpoint) throws(RunError) {
        func mismatch(_ why: String) -> RunError { .config(["cannot resume from \(c.file): \(why)"]) }
        func bad(_ why: String) -> RunError { .data(DataError(file: c.file, "is not a usable checkpoint: \(why)")) }
        guard c.parameters.count == model.store.count else {
            throw mismatch("the checkpoint has \(c.parameters.count) parameters, the model \(model.store.count)")
        }
        guard c.order.count == order.count else {
            throw mismatch("the checkpoint's epoch has \(c.order.count) training examples, the data now \(order.count)")
        }
        for (name, s) in optimizer.stateBuffers {
            guard let values = c.optimizerBuffers[name], values.count == s.capacity else {
                throw mismatch("the checkpoint lacks optimizer state \(name) of the right size")
            }
        }
        for (name, t) in model.buffers {
            guard let values = c.layerBuffers[name], values.count == t.count else {
                throw mismatch("the checkpoint lacks \(name) of \(t.count) values")
            }
        }
        for name in ["shuffle", "augmentation"] + model.allLayers.filter({ $0.randomState != nil }).map(\.name) {
            guard c.randomStates[name] != nil else { throw mismatch("the checkpoint lacks the random state rng.\(name)") }
        }
        if let best = c.bestParameters, best.count != model.store.count {
            throw bad("best_parameters has \(best.count) values, the model \(model.store.count) parameters")
        }

        // The state against the config it was saved with, this config and the data.
        let s = c.state
        let epochs = config.training.epochs
        // (Checkpoint.read checked epochs_done against the config it was saved with.)
        let savedEpochs = c.config["training"]?["epochs"]?.doubleValue.flatMap { Int(exactly: $0) } ?? s.epochsDone
        guard s.epochsDone <= epochs else {
            throw mismatch("training.epochs is \(epochs), but the checkpoint has \(s.epochsDone) epochs done; ask for \(s.epochsDone) or more")
        }
        let steps = stepsPerEpoch
        let n = train.count
        func samples(steps k: Int) -> Int { min(k * batchSize, n) }
        // A finished run ends on an epoch boundary; an interrupted one may stop after the
        // epoch's last step, before its end-of-epoch work.
        guard s.stepInEpoch <= steps, s.epochsDone < savedEpochs || s.stepInEpoch == 0 else {
            throw bad("state.step_in_epoch is \(s.stepInEpoch), expected \(s.epochsDone < savedEpochs ? "0...\(steps) (steps per epoch)" : "0 after the last epoch")")
        }
        let (done, o1) = s.epochsDone.multipliedReportingOverflow(by: steps)
        guard !o1, s.globalStep == done + s.stepInEpoch else {
            throw bad("state.global_step is \(s.globalStep), but \(s.epochsDone) epochs of \(steps) steps and \(s.stepInEpoch) more make \(done &+ s.stepInEpoch) (did training.batch_size or the data change?)")
        }
        guard s.epochSeen <= n, s.stepInEpoch == 0 || s.epochSeen <= samples(steps: s.stepInEpoch),
              s.stepInEpoch == 0 || s.skippedBatches > 0 || s.epochSeen == samples(steps: s.stepInEpoch) else {
            throw bad("state.epoch_seen is \(s.epochSeen), expected \(s.stepInEpoch == 0 ? "0...\(n)" : "\(samples(steps: s.stepInEpoch)) after \(s.stepInEpoch) steps of \(batchSize)")")
        }
        guard s.epochCorrect <= s.epochSeen else {
            throw bad("state.epoch_correct is \(s.epochCorrect), more than the \(s.epochSeen) examples seen this epoch")
        }
        let (trainable, o2) = s.globalStep.multipliedReportingOverflow(by: batchSize)
        guard !o2, s.samplesTrained <= trainable else {
            throw bad("state.samples_trained is \(s.samplesTrained), more than \(s.globalStep) steps of \(batchSize) examples")
        }
        guard s.skippedBatches <= s.globalStep, c.optimizerStep <= s.globalStep else {
            throw bad("\(s.skippedBatches > s.globalStep ? "state.skipped_batches is \(s.skippedBatches)" : "optimizer_step is \(c.optimizerStep)"), more than the \(s.globalStep) steps done")
        }
        guard s.wait <= s.epochsDone, s.plateau.badEpochs <= s.epochsDone else {
            throw bad("state.wait (\(s.wait)) or state.plateau.bad_epochs (\(s.plateau.badEpochs)) counts more than the \(s.epochsDone) epochs done")
        }
        guard s.plateau.cooldownLeft <= max(config.schedule.cooldown, 0) else {
            throw bad("state.plateau.cooldown_left is \(s.plateau.cooldownLeft), more than schedule.cooldown (\(config.schedule.cooldown))")
        }
        if let b = s.bestEpoch, !(1...max(1, s.epochsDone)).contains(b) || s.epochsDone == 0 {
            throw bad("state.best_epoch is \(b), expected 1...\(s.epochsDone) (epochs done)")
        }
        if let row = s.lastCurve, row.epoch != s.epochsDone || row.step > s.globalStep {
            throw bad("state.last_curve is the row of epoch \(row.epoch) (step \(row.step)), expected epoch \(s.epochsDone)")
        }
        // The epoch's order: the training examples, each as often as the data holds it.
        guard c.order.sorted() == order.sorted() else {
            let known = Set(order)
            let odd = c.order.first { !known.contains($0) }
            throw bad("order is not an arrangement of the \(n) training examples" + (odd.map { " (it holds \($0))" } ?? " (some appear too often)"))
        }

        // Everything fits: take it.
        for (name, s) in optimizer.stateBuffers {
            guard let values = c.optimizerBuffers[name] else { continue }
            values.withUnsafeBufferPointer { if let p = $0.baseAddress { s.base.update(from: p, count: values.count) } }
        }
        for (name, t) in model.buffers {
            guard let values = c.layerBuffers[name] else { continue }
            values.withUnsafeBufferPointer { if let p = $0.baseAddress { t.pointer.update(from: p, count: values.count) } }
        }
        model.store.restore(c.parameters)
        optimizer.stepCount = c.optimizerStep
        bestSnapshot = c.bestParameters
        order = c.order
        if let s = c.randomStates["shuffle"] { shuffleRNG = Xoshiro256(state: s) }
        if let s = c.randomStates["augmentation"] { augmentRNG = Xoshiro256(state: s) }
        for l in model.allLayers where l.randomState != nil {
            if let s = c.randomStates[l.name] { l.randomState = s }
        }
        state = c.state
        savedCheckpoint = (c.state.epochsDone, c.state.globalStep)
    }
}
