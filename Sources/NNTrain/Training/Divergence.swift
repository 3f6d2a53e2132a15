import NNCore

// What a diverged run says: where it happened, the likely cause given the evidence, and what it
// leaves on disk.
extension Trainer {
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
}
