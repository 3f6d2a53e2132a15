import NNCore

// The start and the end of an epoch: the shuffle; then, once its steps are done, validation,
// the curves row, the best epoch (early stopping's record) and reduce_on_plateau, in that order.
extension Trainer {
    /// A new epoch: the order of the examples (`training.shuffle`) and zeroed running sums.
    func beginEpoch() {
        if config.training.shuffle { shuffleRNG.shuffle(&order) }
        state.epochLossSum = 0; state.epochCorrect = 0; state.epochSeen = 0; state.epochWeight = 0
        state.epochSeconds = 0
    }

    /// An epoch whose every batch was skipped (on_nan "skip_batch") trained nothing: the run is
    /// dead, whatever the exit of the loop says. The divergence message, or nil.
    func deadEpochMessage(_ epoch: Int) -> String? {
        guard state.epochSeen == 0 && train.count > 0 else { return nil }
        return "training diverged: every batch of epoch \(epoch + 1) had a NaN or infinite loss or gradient and was skipped "
            + "(training.on_nan \"skip_batch\", \(state.skippedBatches) skipped in all). " + divergenceAdvice(lr: state.lastLR) + onDisk()
    }

    /// Validation, the curves row (written, and sent as `epochEnded`) and layers.csv; the epoch
    /// counts as done.
    func finishEpoch(_ epoch: Int, trainedAt: Double, files: RunFiles?) -> CurveRow {
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
        onEvent(.epochEnded(row, epochs: config.training.epochs))
        return row
    }

    /// The best epoch by early stopping's metric (`EarlyStopping`), keeping its weights under
    /// `restore_best`.
    func trackBestEpoch(_ row: CurveRow, epoch: Int) {
        let improved = earlyStopping.update(&state, value: row.metric(earlyStopping.monitor), epoch: epoch + 1)
        if improved && earlyStopping.restoreBest && model.store.count > 0 { bestSnapshot = model.snapshot() }
    }

    /// `training.snapshots` after epoch `epoch` (0-based; see `Snapshots`), with the
    /// preprocessing beside the first one; a failed write stops the run like a checkpoint's.
    func saveSnapshot(_ row: CurveRow, epoch: Int, files: RunFiles?) {
        guard let cfg = config.training.snapshots, let files, writeFailure == nil else { return }
        let keeper = Snapshots(config: cfg, monitor: earlyStopping.monitor, maximize: earlyStopping.maximize)
        let value = row.metric(earlyStopping.monitor)
        do {
            try keeper.update(directory: files.directory, epoch: epoch + 1, value: value) { (path: String) throws(FileError) in
                try files.writeWeights(model, to: path, metadata: [("format", "pt")] + keeper.metadata(epoch: epoch + 1, value: value))
                if !FileIO.exists(files.directory + "/preprocess.safetensors") {
                    try files.writePreprocess(preprocessor, classWeights: loss.classWeights)
                }
            }
        } catch {
            writeFailure = error
        }
    }

    /// reduce_on_plateau's epoch update (`ReduceLROnPlateau`), saying when the rate drops.
    func reduceOnPlateau(_ row: CurveRow) {
        guard let plateau = config.schedule.plateau, let value = row.metric(plateau.monitor), value.isFinite else { return }
        let before = state.plateau.scale
        plateau.update(&state.plateau, value: value, baseLR: config.optimizer.lr)
        if state.plateau.scale != before {
            onEvent(.message("reduce_on_plateau: \(plateau.monitor) stopped improving; lr now \(Double(config.optimizer.lr) * state.plateau.scale)"))
        }
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

    /// The model's outputs in evaluation mode for every example of `split`, row-major
    /// `split.count × outputs` (logits of a classifier), in batches of `eval_batch_size`.
    public func outputs(_ split: DataSplit) -> [Float] {
        let width = model.outputShape.reduce(1, *)
        var out = [Float](repeating: 0, count: split.count * width)
        var start = 0
        model.beginEvaluation()
        defer { model.endEvaluation() }
        out.withUnsafeMutableBufferPointer { o in
            while start < split.count {
                let b = min(evalBatch, split.count - start)
                let x = input.view(batch: b)
                preprocessor.fill(x, targets: targets.base, from: split, start: start, batch: b, scratch: scratch)
                let y = model.forward(x, mode: .evaluation)
                (o.baseAddress! + start * width).update(from: y.pointer, count: b * width)
                start += b
            }
        }
        return out
    }

    /// Recomputes every batch norm's running statistics as the plain mean over one pass of
    /// `split` in training mode (batches of `batch_size`, in order, no augmentation, no update),
    /// as `torch.optim.swa_utils.update_bn` does after weight averaging. False when the model
    /// has no batch norm (nothing to do).
    @discardableResult
    public func recomputeRunningStatistics(_ split: DataSplit) -> Bool {
        let layers = model.allLayers
        let started = layers.map { $0.beginStatisticsPass() }
        defer { for l in layers { l.endStatisticsPass() } }
        guard started.contains(true) else { return false }
        var start = 0
        let batch = max(1, config.training.batchSize)
        while start < split.count {
            let b = min(batch, split.count - start)
            let x = input.view(batch: b)
            preprocessor.fill(x, targets: targets.base, from: split, start: start, batch: b, scratch: scratch)
            _ = model.forward(x, mode: .training)
            start += b
        }
        return true
    }
}
