import NNCore

/// A finished run read back for inference (`eval`, `predict`): its `config.json`, the model
/// rebuilt with the weights and running statistics of `model.safetensors`, the fitted
/// preprocessing of `preprocess.safetensors` and the class weights of the loss.
public final class TrainedModel {
    public let directory: String
    /// The weights file read (`model.safetensors`, or a snapshot).
    public let weightsPath: String
    public let config: ExperimentConfig
    public let model: Model
    /// Per-feature scale and shift (and PCA/ZCA projection) fitted on the training split.
    public let preprocessor: Preprocessor
    public let classWeights: [Float]?
    /// The vocabulary of a run on text data (`vocabulary.json`), else nil.
    public private(set) var vocabulary: Vocabulary? = nil

    init(directory: String, weightsPath: String, config: ExperimentConfig, model: Model, preprocessor: Preprocessor, classWeights: [Float]?) {
        self.directory = directory; self.weightsPath = weightsPath; self.config = config; self.model = model
        self.preprocessor = preprocessor; self.classWeights = classWeights
    }

    /// The input shape of one example (`model.input`).
    public var inputShape: [Int] { config.model.input }
    /// Outputs per example: the classes of a classifier.
    public var outputCount: Int { model.outputShape.reduce(1, *) }
    public var isClassifier: Bool { config.data.task == .classification }
    /// Whether the model's input is float features (CSV rows, a text run's encoded texts: its
    /// vocabulary stays outside an export) rather than stored pixels.
    public var takesFeatures: Bool {
        switch config.data.train?.unfiltered {
        case .csv?, .text?: return true
        default: return false
        }
    }
    /// Whether the outputs are logits of a softmax (a cross-entropy classifier); else scores.
    public var hasSoftmax: Bool { isClassifier && config.loss.kind == .crossEntropy }

    /// The run and, for a snapshot, its epoch: `runs/x`, `runs/x (epoch 7)`.
    public var name: String {
        weightsPath == directory + "/model.safetensors" ? directory
            : directory + (Snapshots.epoch(fileName: weightsPath.split(separator: "/").last.map(String.init) ?? "").map { " (epoch \($0))" } ?? " (\(weightsPath))")
    }

    /// Reads the run in `directory`, with the weights of `weights` (default its
    /// `model.safetensors`). A config that does not load: `.config` (exit 2); a weights or
    /// preprocessing file that is missing, corrupt or does not fit the model: `.data` naming it
    /// (exit 3).
    public static func load(_ directory: String, weights: String? = nil) throws(RunError) -> TrainedModel {
        let config: ExperimentConfig
        do { config = try ConfigLoader.load(path: directory + "/config.json") } catch { throw .config(error.lines) }
        let model = Model(config: config.model, seed: config.seed, penalizeAll: config.regularization.penalizeBiases)
        let weights = weights ?? directory + "/model.safetensors"
        let prePath = directory + "/preprocess.safetensors"
        let file = try Experiment.readWeights(weights)
        let entries = file.entries
        try checkArchitecture(file.metadata, configPath: directory + "/config.json", weights: weights)
        let pre = try Experiment.readWeights(prePath).entries
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
        guard let scale = preByName["scale"], let shift = preByName["shift"], scale.count == shift.count, !scale.isEmpty else {
            throw .data(DataError(file: prePath, "has no scale and shift tensors of one length"))
        }
        var preprocessor = Preprocessor(scale: scale, shift: shift)
        if let projection = preByName["projection"] {
            guard let p = pre.first(where: { $0.name == "projection" }), p.shape.count == 2, p.shape[1] == scale.count,
                  (1...scale.count).contains(p.shape[0]) else {
                throw .data(DataError(file: prePath, "tensor projection does not fit data with \(scale.count) features"))
            }
            preprocessor.projection = projection
            preprocessor.outputCount = p.shape[0]
        }
        let outputs = model.outputShape.reduce(1, *)
        if let w = preByName["class_weights"], w.count != outputs {
            throw .data(DataError(file: prePath, "has \(w.count) class weights, the model \(outputs) outputs"))
        }
        let trained = TrainedModel(directory: directory, weightsPath: weights, config: config, model: model, preprocessor: preprocessor,
                            classWeights: preByName["class_weights"])
        if config.data.text != nil {
            do { trained.vocabulary = try Vocabulary.read(directory + "/vocabulary.json") } catch { throw .data(error) }
        }
        return trained
    }

    /// Checks that `config.json`'s `model` is the one the weights were trained with (the
    /// `nntrain_model` metadata that `nntrain run` writes): an edited activation or dropout rate
    /// fits the tensors' shapes but gives other outputs. `.data` naming the first differing
    /// layer; nothing to check for a file without that metadata.
    static func checkArchitecture(_ metadata: [String: String], configPath: String, weights: String) throws(RunError) {
        guard let text = metadata["nntrain_model"], let trained = try? JSONValue.parse(Array(text.utf8)),
              let configText = try? FileIO.read(configPath), let current = (try? JSONValue.parse(configText))?["model"],
              current != trained else { return }
        let a = current["layers"]?.arrayValue ?? [], b = trained["layers"]?.arrayValue ?? []
        let what = a.indices.first(where: { $0 < b.count && a[$0] != b[$0] }).map { "model.layers.\($0) differs" }
            ?? (a.count != b.count ? "model.layers has \(a.count) layers, the weights' model \(b.count)" : "model differs outside its layers")
        throw .data(DataError(file: weights, "was trained with another model than \(configPath) describes (\(what)): the config was edited after the run"))
    }

    /// The examples of `source`, text turned into numbers with the run's vocabulary.
    public func dataset(_ source: DataSource) throws(RunError) -> Dataset {
        let d: Dataset
        do { d = try Dataset.load(source, task: config.data.task) } catch { throw .data(error) }
        guard d.texts != nil else { return d }
        guard let v = vocabulary, let text = config.data.text else {
            throw .config(["\(d.origin) holds texts, but the run \(directory) was not trained on text"])
        }
        return d.encoded(with: v, config: text)
    }

    /// A trainer that evaluates this model on `dataset`, after checking that the data fits
    /// (its features the preprocessing's, the preprocessed input the model's): `.data` or
    /// `.config` naming what differs.
    public func trainer(for dataset: Dataset) throws(RunError) -> Trainer {
        guard preprocessor.scale.count == dataset.featureCount else {
            throw .data(DataError(file: dataset.origin, "gives \(dataset.featureCount) features per example (shape \(dataset.sampleShape)), the run \(directory) was trained on \(preprocessor.scale.count) (model.input \(inputShape))"))
        }
        try Experiment.checkCompatibility(config, plan: ModelPlan(config: config), data: dataset, features: preprocessor.outputCount)
        let trainer = Trainer(config: config, model: model, train: DataSplit(all: dataset), validation: nil, test: nil, preprocessor: preprocessor)
        if let w = classWeights { trainer.loss.classWeights = w }
        return trainer
    }
}
