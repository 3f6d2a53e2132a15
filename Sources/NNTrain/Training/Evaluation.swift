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
        let prePath = directory + "/preprocess.safetensors"
        let entries = try readWeights(weights).entries
        let pre = try readWeights(prePath).entries
        // Each tensor of the model with its dtype and shape (a scalar and [1] are the same):
        // a transposed [784, 128] weight is not a [128, 784] one, whatever its element count.
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, tensor) in model.parameters.map({ ($0.name, $0.value) }) + model.buffers {
            guard let e = byName[name] else {
                throw .data(DataError(file: weights, "has no tensor \(name) of shape \(tensor.shape.dims) for this run's model"))
            }
            let integerAllowed = name.hasSuffix(".num_batches_tracked")
            guard e.dtype.isFloatingPoint || integerAllowed else {
                throw .data(DataError(file: weights, "tensor \(name) has dtype \(e.dtype.rawValue), expected a floating-point dtype (F32) for this run's model"))
            }
            guard sameShape(e.shape, tensor.shape.dims), e.values.count == tensor.count else {
                throw .data(DataError(file: weights, "tensor \(name) has shape \(e.shape), this run's model needs \(tensor.shape.dims)"))
            }
            e.values.withUnsafeBufferPointer { if let p = $0.baseAddress { tensor.pointer.update(from: p, count: e.values.count) } }
        }
        // Preprocessing statistics: 1-D (projection 2-D) floating-point tensors of finite values.
        var preByName: [String: [Float]] = [:]
        for e in pre {
            guard e.dtype.isFloatingPoint else {
                throw .data(DataError(file: prePath, "tensor \(e.name) has dtype \(e.dtype.rawValue), expected F32"))
            }
            guard e.shape.count == (e.name == "projection" ? 2 : 1) else {
                throw .data(DataError(file: prePath, "tensor \(e.name) has shape \(e.shape), expected \(e.name == "projection" ? "[outputs, features]" : "a 1-D shape")"))
            }
            if let i = e.values.firstIndex(where: { !$0.isFinite }) {
                throw .data(DataError(file: prePath, "is corrupt: tensor \(e.name) holds \(e.values[i]) at index \(i)"))
            }
            preByName[e.name] = e.values
        }
        guard let scale = preByName["scale"], let shift = preByName["shift"], scale.count == dataset.featureCount,
              shift.count == dataset.featureCount else {
            throw .data(DataError(file: prePath, "does not fit data with \(dataset.featureCount) features"))
        }
        var preprocessor = Preprocessor(scale: scale, shift: shift)
        if let projection = preByName["projection"] {
            guard let p = pre.first(where: { $0.name == "projection" }), p.shape.count == 2, p.shape[1] == dataset.featureCount,
                  (1...dataset.featureCount).contains(p.shape[0]) else {
                throw .data(DataError(file: prePath, "tensor projection does not fit data with \(dataset.featureCount) features"))
            }
            preprocessor.projection = projection
            preprocessor.outputCount = p.shape[0]
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

    /// A safetensors file of a run, header first; a checksum, when the file has one (nntrain
    /// writes it, a file re-saved by PyTorch has none), must match.
    static func readWeights(_ path: String) throws(RunError) -> Safetensors.File {
        let file: Safetensors.File
        do { file = try Safetensors.read(path, limit: DataLimits.maxBytes) } catch let e as FileError {
            throw .data(DataError(file: e.path, e.reason))
        } catch let e as Safetensors.FormatError {
            throw .data(DataError(file: path, e.isNotSafetensors ? "is not a safetensors file (\(e.message))" : e.message))
        } catch {
            throw .data(DataError(file: path, "\(error)"))
        }
        if file.checksumMatches == false {
            throw .data(DataError(file: path, "is corrupt: its checksum does not match its contents (damaged or edited after it was written)"))
        }
        return file
    }
}

/// Equal shapes, where a scalar `[]` and `[1]` count as the same (torch's `num_batches_tracked`).
func sameShape(_ a: [Int], _ b: [Int]) -> Bool {
    a == b || (a.isEmpty && b == [1]) || (a == [1] && b.isEmpty)
}
