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

    /// `nntrain eval`: rebuilds the model of the run in `directory` from its `config.json`,
    /// `model.safetensors` (weights and running statistics) and `preprocess.safetensors` (the
    /// fitted preprocessing), and evaluates it on `data` (default: the config's test split).
    public static func evaluate(directory: String, data: DataSource?, threads: Int?) throws(RunError) -> Evaluation {
        let config: ExperimentConfig
        do { config = try ConfigLoader.load(path: directory + "/config.json") } catch { throw .config(error.lines) }
        guard let source = data ?? config.data.test else {
            throw .config(["\(directory)/config.json has no data.test; give the data to evaluate with --data '{\"format\": \"idx\", \"images\": …, \"labels\": …}'"])
        }
        setBLASThreads(threadCount(config: config, option: threads))
        Runtime.flushDenormals()
        let dataset: Dataset
        do { dataset = try Dataset.load(source, task: config.data.task) } catch { throw .data(error) }
        let model = Model(config: config.model, seed: config.seed, penalizeAll: config.regularization.penalizeBiases)
        let weights = directory + "/model.safetensors"
        let entries: [Safetensors.Entry]
        let pre: [Safetensors.Entry]
        do {
            entries = try Safetensors.decode(try FileIO.read(weights)).entries
            pre = try Safetensors.decode(try FileIO.read(directory + "/preprocess.safetensors")).entries
        } catch let e as FileError {
            throw .data(DataError(file: e.path, e.reason))
        } catch {
            throw .data(DataError(file: weights, "\(error)"))
        }
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, tensor) in model.parameters.map({ ($0.name, $0.value) }) + model.buffers {
            guard let e = byName[name], e.values.count == tensor.count else {
                throw .data(DataError(file: weights, "has no tensor \(name) of \(tensor.count) values for this run's model"))
            }
            e.values.withUnsafeBufferPointer { tensor.pointer.update(from: $0.baseAddress!, count: e.values.count) }
        }
        let preByName = Dictionary(pre.map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        guard let scale = preByName["scale"], let shift = preByName["shift"], scale.count == dataset.featureCount,
              shift.count == dataset.featureCount else {
            throw .data(DataError(file: directory + "/preprocess.safetensors", "does not fit data with \(dataset.featureCount) features"))
        }
        var preprocessor = Preprocessor(scale: scale, shift: shift)
        if let projection = preByName["projection"] {
            preprocessor.projection = projection
            preprocessor.outputCount = projection.count / dataset.featureCount
        }
        try checkCompatibility(config, plan: ModelPlan(config: config), data: dataset, features: preprocessor.outputCount)
        let split = DataSplit(all: dataset)
        let trainer = Trainer(config: config, model: model, train: split, validation: nil, test: nil, preprocessor: preprocessor)
        if let w = preByName["class_weights"] {
            guard w.count == model.outputShape.reduce(1, *) else {
                throw .data(DataError(file: directory + "/preprocess.safetensors", "has \(w.count) class weights, the model \(model.outputShape.reduce(1, *)) outputs"))
            }
            trainer.loss.classWeights = w
        }
        let start = Clock.now()
        let (loss, accuracy) = trainer.evaluate(split)
        return Evaluation(loss: loss, accuracy: accuracy, examples: dataset.count, source: dataset.origin, seconds: Clock.now() - start)
    }
}
