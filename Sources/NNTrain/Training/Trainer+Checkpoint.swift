import NNCore

// Checkpoints of a trainer: what it saves, and how a run continues from one.
extension Trainer {
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
    func saveCheckpoint(_ files: RunFiles?) {
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
        let cooldown = config.schedule.plateau?.cooldown ?? 0
        guard s.plateau.cooldownLeft <= max(cooldown, 0) else {
            throw bad("state.plateau.cooldown_left is \(s.plateau.cooldownLeft), more than schedule.cooldown (\(cooldown))")
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
