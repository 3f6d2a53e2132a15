import NNCore

extension Experiment {
    /// Loads the splits named by `data` (train split into train/validation when asked).
    /// Text sources are turned into numbers with the vocabulary fitted on the training split
    /// (after the validation split is taken out; returned as `vocabulary`).
    public static func loadData(_ config: ExperimentConfig) throws(RunError) -> (train: DataSplit, validation: DataSplit?, test: DataSplit?) {
        let d = try loadDataAndVocabulary(config)
        return (d.train, d.validation, d.test)
    }

    public static func loadDataAndVocabulary(_ config: ExperimentConfig) throws(RunError)
        -> (train: DataSplit, validation: DataSplit?, test: DataSplit?, vocabulary: Vocabulary?) {
        guard let trainSource = config.data.train else { throw .config(["$.data.train: missing"]) }
        var vocabulary: Vocabulary? = nil
        do throws(DataError) {
            var trainSet = try Dataset.load(trainSource, task: config.data.task)
            var split: (DataSplit, DataSplit)? = nil
            if config.data.validation == nil && config.data.validationSplit > 0 {
                split = DataSplit.split(trainSet, validationFraction: config.data.validationSplit, seed: config.data.splitSeed)
            }
            // Text: the vocabulary of the training split's texts; every split encoded with it.
            func encode(_ d: Dataset) -> Dataset {
                guard let v = vocabulary, let text = config.data.text, d.texts != nil else { return d }
                return d.encoded(with: v, config: text)
            }
            if let text = config.data.text, let texts = trainSet.texts {
                let indices = split.map { $0.0.indices.map(Int.init) } ?? Array(texts.indices)
                vocabulary = Vocabulary.fit(indices.map { texts[$0] }, text)
                // The text augmentations start from each training example's token ids.
                let augmented = config.data.augment.contains { $0.textOperation != nil }
                trainSet = vocabulary.map { trainSet.encoded(with: $0, config: text, keepTokenIDs: augmented) } ?? trainSet
            }
            var train = DataSplit(all: trainSet)
            var validation: DataSplit? = nil
            if let v = config.data.validation {
                validation = DataSplit(all: encode(try Dataset.load(v, task: config.data.task)))
            } else if let (t, v) = split {
                train = DataSplit(dataset: trainSet, indices: t.indices)
                validation = DataSplit(dataset: trainSet, indices: v.indices)
            }
            var test: DataSplit? = nil
            if let s = config.data.test { test = DataSplit(all: encode(try Dataset.load(s, task: config.data.task))) }
            guard train.count > 0 else { throw DataError(file: trainSet.origin, "no training examples left after the validation split") }
            train = train.balanced(config.data.balance, seed: config.seed)
            for other in [validation, test].compactMap({ $0 }) where other.dataset !== trainSet {
                if other.dataset.featureCount != trainSet.featureCount {
                    throw DataError(file: other.dataset.origin, "examples have \(other.dataset.featureCount) features, the training data \(trainSet.featureCount)")
                }
                if let c = other.dataset.classCount, let tc = trainSet.classCount, c > tc {
                    throw DataError(file: other.dataset.origin, "has label \(c - 1), but the training data has only classes 0..<\(tc)")
                }
            }
            return (train, validation, test, vocabulary)
        } catch {
            throw .data(error)
        }
    }

    /// Checks the data against the model: input size and number of outputs.
    /// `features`: the input size after preprocessing (PCA changes it); default the data's.
    public static func checkCompatibility(_ config: ExperimentConfig, plan: ModelPlan, data: Dataset, features: Int? = nil) throws(RunError) {
        var errors: [String] = []
        let inputCount = config.model.input.reduce(1, *)
        let features = features ?? data.featureCount
        if inputCount != features {
            let expected = features == data.featureCount ? "\(data.sampleShape)" : "[\(features)]"
            errors.append("$.model.input: \(config.model.input) has \(inputCount) features, but the data (\(data.origin)) gives \(features) after preprocessing; set model.input to \(expected)")
        }
        if inputCount == features { try checkTokenIDs(config, data) }
        let outputs = plan.outputShape.reduce(1, *)
        if !data.hasLabels {
            // Data to predict: only the input has to fit.
        } else if let classes = data.classCount {
            if classes > outputs {
                // A label the model cannot output: name the file and the first such example.
                let first = data.targets.firstIndex { Int($0) >= outputs } ?? 0
                // The labels file of the config's split these images come from, else the data.
                let file = [config.data.train, config.data.test].lazy.compactMap { s -> String? in
                    if case .idx(let images, let labels?)? = s, images == data.origin { return labels } else { return nil } }.first ?? data.origin
                throw .data(DataError(file: file, "label \(Int(data.targets[first])) (example \(first)) is out of range for the model's \(outputs) outputs; the data has \(classes) classes, so the last layer needs \(classes) units (model.layers.\(config.model.layers.count - 1).units)"))
            }
        } else if outputs != data.targetWidth {
            errors.append("$.model.layers.\(config.model.layers.count - 1): regression with \(data.targetWidth) target(s) needs \(data.targetWidth) output(s), the model gives \(outputs)")
        }
        if !errors.isEmpty { throw .config(errors) }
    }

    /// A model that starts with an embedding reads token ids: no preprocessing, and every value
    /// of `data` a whole number in 0..<num_embeddings (the first one that is not is named).
    public static func checkTokenIDs(_ config: ExperimentConfig, _ data: Dataset) throws(RunError) {
        guard let embedding = config.model.layers.first?.kind as? EmbeddingSpec else { return }
        if !config.data.preprocess.isEmpty {
            throw .config(["$.data.preprocess: the model starts with an embedding, which reads token ids as they are; remove the preprocessing steps"])
        }
        let n = Float(embedding.numEmbeddings)
        for i in 0..<data.count {
            for j in 0..<data.featureCount {
                let v = data.value(i, j)
                guard v >= 0, v < n, v == v.rounded() else {
                    let hint = config.data.text != nil ? "; set num_embeddings to data.text.max_size (\(config.data.text?.maxSize ?? 0)) or more" : "; the data must hold token ids (data.text.representation \"sequence\")"
                    throw .data(DataError(file: data.origin, "example \(i), step \(j): \(formatSignificant(Double(v), 6)) is not a token id in 0..<\(embedding.numEmbeddings) for model.layers.0 (embedding)\(hint)"))
                }
            }
        }
    }
}
