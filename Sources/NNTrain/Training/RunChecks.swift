import NNCore

/// Checks of a config that need what only a run knows: the size of the validation split once
/// the data is read, the epochs a resumed run has done. Each returns the error line (a config
/// error, exit 2) or nil.
extension ExperimentConfig {
    /// A validation split of 0 examples (a fraction of a small training set that rounds to 0)
    /// while early stopping or reduce_on_plateau watches a `val_*` metric: the metric would never
    /// exist and the rule would silently never act, so it is the same error as a split of 0.
    public func validationProblem(trainExamples: Int, validationExamples: Int?) -> String? {
        guard validationExamples ?? 0 == 0 else { return nil }
        var watchers: [String] = []
        if let es = training.earlyStopping, es.monitor.needsValidation {
            watchers.append("training.early_stopping.monitor is \(es.monitor)")
        }
        if let plateau = schedule.plateau, plateau.monitor.needsValidation {
            watchers.append("schedule.monitor is \(plateau.monitor)")
        }
        guard !watchers.isEmpty else { return nil }
        let source = data.validation != nil
            ? "data.validation holds 0 examples"
            : "data.validation_split \(JSONValue.format(data.validationSplit)) of \(trainExamples) training examples is 0 examples"
        return "$.data.validation_split: \(source), but \(watchers.joined(separator: " and ")); "
            + "use a larger validation_split or monitor loss"
    }

    /// `--resume --set training.epochs=N` with N below the epochs the run has done: there is no
    /// way back to an earlier epoch, and writing N into config.json would leave a run whose
    /// config contradicts its curves.
    public func resumeEpochsProblem(epochsDone: Int, directory: String) -> String? {
        guard training.epochs < epochsDone else { return nil }
        return "$.training.epochs: expected integer >= \(epochsDone) (the epochs \(directory) has done), got \(training.epochs); "
            + "to train fewer epochs, start a new run"
    }
}

extension ExperimentConfig {
    /// Why a run of this config will have no `name` column in curves.csv (`--metric`): the
    /// `val_*` columns need validation data, the accuracies a classification task. Nil when
    /// the column will exist.
    public func metricProblem(_ name: String) -> String? {
        let metric = Metric(rawValue: name)
        if metric?.needsValidation == true, data.validation == nil, data.validationSplit == 0 {
            return "\(name) needs validation data, and the config has none (data.validation_split is 0 and data.validation is null)"
        }
        if metric?.needsClassification == true, data.task != .classification {
            return "\(name) needs data.task \"classification\", the config's task is \(data.task.rawValue)"
        }
        return nil
    }
}
