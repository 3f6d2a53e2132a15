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
        let trained = try TrainedModel.load(directory)
        let config = trained.config
        guard let source = data ?? config.data.test else {
            throw .config(["\(directory)/config.json has no data.test; give the data to evaluate with --data '{\"format\": \"idx\", \"images\": …, \"labels\": …}'"])
        }
        setThreads(config: config, option: threads)
        let dataset: Dataset
        do { dataset = try Dataset.load(source, task: config.data.task) } catch { throw .data(error) }
        guard dataset.hasLabels else {
            throw .config(["\(dataset.origin) has no labels to evaluate against; `nntrain predict` predicts without them"])
        }
        let trainer = try trained.trainer(for: dataset)
        let start = Clock.now()
        let (loss, accuracy) = trainer.evaluate(DataSplit(all: dataset))
        return Evaluation(loss: loss, accuracy: accuracy, examples: dataset.count, source: dataset.origin, seconds: Clock.now() - start)
    }

    /// Sets the BLAS and loop threads for inference with `config` (`--threads` wins) and
    /// flushes denormals, as training does.
    public static func setThreads(config: ExperimentConfig, option: Int?) {
        setBLASThreads(threadCount(config: config, option: option))
        Runtime.flushDenormals()
    }
}
