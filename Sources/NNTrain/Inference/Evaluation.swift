import NNCore

extension Experiment {
    public struct Evaluation {
        public var loss: Double
        public var accuracy: Double?
        public var examples: Int
        public var source: String
        /// Seconds of the evaluation loop (batches of `training.eval_batch_size`), data loading excluded.
        public var seconds: Double
        public var samplesPerSecond: Double { seconds > 0 ? Double(examples) / seconds : 0 }
    }

    /// `nntrain eval`: rebuilds the model of the run in `directory` (`TrainedModel`) and
    /// evaluates it on `data` (default: the config's test split), which must have labels.
    public static func evaluate(directory: String, data: DataSource?, threads: Int?) throws(RunError) -> Evaluation {
        try evaluate(directories: [directory], data: data, threads: threads).runs[0].evaluation
    }

    /// One run's evaluation, and for a classifier its per-class figures.
    public struct RunEvaluation {
        public var directory: String
        public var evaluation: Evaluation
        public var metrics: ClassificationMetrics?
    }

    /// `nntrain eval RUN_DIR...`: every run on one dataset (`data`, else the first run's test
    /// split), and with several runs their ensemble (the mean of the probabilities, as
    /// `nntrain predict`): its per-class figures and `loss` = −(1/N) Σ log max(p[label], 1e-30)
    /// for softmax classifiers, `mse` for regression. `topK`: the k of top-k accuracy.
    public static func evaluate(directories: [String], data: DataSource?, threads: Int?, topK: [Int] = [1, 5]) throws(RunError)
        -> (runs: [RunEvaluation], ensemble: (metrics: ClassificationMetrics?, figures: [(String, JSONValue)])?, dataset: Dataset) {
        var models: [TrainedModel] = []
        for d in directories { models.append(try TrainedModel.load(d)) }
        try Prediction.checkEnsemble(models)
        let first = models[0], config = first.config
        guard let source = data ?? config.data.test else {
            throw .config(["\(first.directory)/config.json has no data.test; give the data to evaluate with --data '{\"format\": \"idx\", \"images\": …, \"labels\": …}'"])
        }
        setThreads(config: config, option: threads)
        let dataset = try first.dataset(source)
        guard dataset.hasLabels else {
            throw .config(["\(dataset.origin) has no labels to evaluate against; `nntrain predict` predicts without them"])
        }
        let split = DataSplit(all: dataset)
        let labels = first.isClassifier ? (0..<dataset.count).map { Int(dataset.targets[$0 * dataset.targetWidth]) } : []
        func metrics(_ probabilities: [Float]) throws(RunError) -> ClassificationMetrics? {
            // Not finite outputs: the loss says so (exit 4); no per-class figure means anything.
            guard first.isClassifier, probabilities.allSatisfy(\.isFinite) else { return nil }
            do { return try ClassificationMetrics(labels: labels, probabilities: probabilities, classes: first.outputCount, topK: topK) } catch {
                throw .data(DataError(file: dataset.origin, error.description))
            }
        }
        var runs: [RunEvaluation] = [], members: [[Float]] = []
        for m in models {
            let trainer = try m.trainer(for: dataset)
            let start = Clock.now()
            let (loss, accuracy) = trainer.evaluate(split)
            let e = Evaluation(loss: loss, accuracy: accuracy, examples: dataset.count, source: dataset.origin, seconds: Clock.now() - start)
            var outputs = trainer.outputs(split)
            if m.hasSoftmax { Prediction.softmaxRows(&outputs, width: m.outputCount) }
            runs.append(RunEvaluation(directory: m.directory, evaluation: e, metrics: try metrics(outputs)))
            members.append(outputs)
        }
        guard models.count > 1 else { return (runs, nil, dataset) }
        let combined = Prediction.combine(members, width: first.outputCount, .mean)
        let result = Prediction.Result(members: members, combined: combined, width: first.outputCount, count: dataset.count)
        let figures = PredictionOutput(result: result, models: models, dataset: dataset, topK: 1, probabilities: false).figures(combined)
        return (runs, (try metrics(combined), figures), dataset)
    }

    /// Sets the BLAS and loop threads for inference with `config` (`--threads` wins) and
    /// flushes denormals, as training does.
    public static func setThreads(config: ExperimentConfig, option: Int?) {
        setBLASThreads(threadCount(config: config, option: option))
        Runtime.flushDenormals()
    }
}
