import NNCore

// One training step, its rules in a fixed order, each a named call (`trainStep`).
extension Trainer {
    struct Failure {
        var reason: StopReason
        var message: String
        var signal: Int32 = 0
    }

    /// The steps of one epoch from `state.stepInEpoch` on; after each, a pending signal stops
    /// the run and `checkpoint_every_steps` writes a checkpoint.
    func trainSteps(epoch: Int, files: RunFiles?) -> Failure? {
        let steps = stepsPerEpoch
        while state.stepInEpoch < steps {
            if let failure = trainStep(epoch: epoch, files: files) { return failure }
            onEvent(.step(epoch: epoch + 1, stepInEpoch: state.stepInEpoch, stepsPerEpoch: steps,
                          loss: state.epochLossSum / max(state.epochWeight, 1e-30)))
            let sig = pendingSignal()
            if sig != 0 {
                return Failure(reason: .interrupted, message: "interrupted by signal \(sig) at step \(state.globalStep)", signal: sig)
            }
            if let every = config.training.checkpointEverySteps, state.globalStep % every == 0, state.stepInEpoch < steps {
                saveCheckpoint(files)
                if writeFailure != nil { return Failure(reason: .paused, message: "a run file could not be written") }
            }
        }
        return nil
    }

    /// One step, in this order:
    /// 1. batch: gather, preprocess, augment (prepared ahead on a worker when prefetching)
    /// 2. forward
    /// 3. loss and its gradient with respect to the outputs
    /// 4. backward (not for a non-finite loss: the run stops, or on_nan "skip_batch" skips the
    ///    update and the metrics)
    /// 5. gradient norm, before clipping (for clip.norm, and steps.csv every log_every steps)
    /// 6. clip (regularization.clip: by global norm, then by value) and 7. L1, one pass over the
    ///    gradients (`GradientTransform`); the coupled L2 term l2·w is added to the gradient
    ///    inside the optimizer's fused update
    /// 8. optimizer update at the scheduled rate (decoupled weight decay, L2, the rule)
    /// 9. max-norm
    /// 10. schedule: the step is counted; the next step's rate is the schedule's at the new count
    /// 11. metrics: the epoch's running sums and, every log_every steps, a steps.csv row
    func trainStep(epoch: Int, files: RunFiles?) -> Failure? {
        let t0 = Clock.now()
        if firstStepAt == nil { firstStepAt = t0 }
        let b = min(batchSize, train.count - state.stepInEpoch * batchSize)
        let reg = config.regularization
        // 1. batch
        let (x, batchTargets) = nextBatch(b)
        // 2. forward
        let y = model.forward(x, mode: .training)
        // 3. loss
        let dy = outputGrad.view(batch: b)
        let result = loss.evaluate(y, targets: batchTargets, gradient: dy)
        let lr = learningRate(epoch: epoch, step: state.globalStep)
        // 4. backward
        let finite = backward(dy, lossSum: result.lossSum)
        let logging = (state.globalStep + 1) % config.training.logEvery == 0
        var gradNorm: Double? = nil
        if finite {
            // 5. gradient norm
            if reg.clipNorm != nil || logging { gradNorm = model.store.gradientNorm() }
            // 6. clip and 7. L1 (L2 is fused into 8)
            let transform = gradientTransform(gradNorm: gradNorm)
            transform.prepare(model.store)
            // 8. optimizer update
            if config.diagnostics && state.stepInEpoch == stepsPerEpoch - 1 { beforeLastStep = model.store.snapshot() }
            optimizer.step(model.store, lr: lr, l2: transform.l2)
            // 9. max-norm
            if let c = reg.maxNorm { applyMaxNorm(model.store, c) }
        } else if config.training.onNaN == .skipBatch {
            // on_nan "skip_batch": no update; the step still counts.
            state.skippedBatches += 1
            onEvent(.message("step \(state.globalStep + 1): NaN/Inf loss or gradient, batch skipped (training.on_nan)"))
        } else {
            return Failure(reason: .diverged, message: divergenceMessage(step: state.globalStep + 1, epoch: epoch + 1, lr: lr))
        }
        // 10. schedule
        countStep(batch: b, lr: lr)
        // 11. metrics
        if finite { recordMetrics(result, batch: b, epoch: epoch, lr: lr, gradNorm: gradNorm, logging: logging, files: files) }
        state.trainSeconds += Clock.now() - t0
        return nil
    }

    /// Step 1: the inputs and targets of the batch of `b` examples at `state.stepInEpoch`, and
    /// (prefetching) the next batch started on the worker.
    func nextBatch(_ b: Int) -> (Tensor, UnsafeMutablePointer<Float>) {
        let n = train.count, steps = stepsPerEpoch
        let start = state.stepInEpoch * batchSize
        guard let prefetcher else {
            let x = input.view(batch: b)
            fillBatch(x, targets: targets.base, start: start, batch: b, scratch: scratch)
            return (x, targets.base)
        }
        let slot = prefetcher.take(step: state.globalStep, start: start, batch: b)
        if state.stepInEpoch + 1 < steps {
            let next = (state.stepInEpoch + 1) * batchSize
            prefetcher.prefetch(step: state.globalStep + 1, start: next, batch: min(batchSize, n - next))
        }
        return (slot.input.view(batch: b), slot.targets.base)
    }

    /// Step 4: backpropagates `dy` unless the loss is not finite; under on_nan "skip_batch" the
    /// gradients must be finite too. False when the step cannot update.
    func backward(_ dy: Tensor, lossSum: Double) -> Bool {
        guard lossSum.isFinite else { return false }
        model.backward(dy)
        return config.training.onNaN == .skipBatch ? model.store.gradientsAreFinite() : true
    }

    /// Steps 6 and 7: clip by global norm (scale c/(‖g‖ + 1e-6) when ‖g‖ > c, torch
    /// `clip_grad_norm_`), clip by value, L1; and the L2 weight the update adds.
    func gradientTransform(gradNorm: Double?) -> GradientTransform {
        let reg = config.regularization
        var transform = GradientTransform(clipValue: reg.clipValue, l2: reg.l2, l1: reg.l1)
        if let c = reg.clipNorm, let norm = gradNorm, norm > Double(c) { transform.scale = Float(Double(c) / (norm + 1e-6)) }
        return transform
    }

    /// Step 10: one more step done, at rate `lr`, of `b` examples.
    func countStep(batch b: Int, lr: Float) {
        state.globalStep += 1
        state.stepInEpoch += 1
        state.lastLR = lr
        state.samplesTrained += b
    }

    /// Step 11: the epoch's running sums and, when `logging`, the steps.csv row of the interval
    /// (mean loss since the last row, and the gradient norm).
    func recordMetrics(_ result: LossResult, batch b: Int, epoch: Int, lr: Float, gradNorm: Double?, logging: Bool, files: RunFiles?) {
        state.epochLossSum += result.lossSum
        state.epochCorrect += result.correct
        state.epochSeen += b
        state.epochWeight += result.weightSum
        state.logLossSum += result.lossSum
        state.logWeight += result.weightSum
        if logging {
            files?.appendStep(step: state.globalStep, epoch: epoch + 1, lr: lr,
                              loss: state.logLossSum / max(state.logWeight, 1e-30), gradNorm: gradNorm)
            state.logLossSum = 0; state.logWeight = 0
        }
    }
}
