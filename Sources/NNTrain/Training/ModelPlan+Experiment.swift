import NNCore

/// The checks of a model plan that need the whole experiment: the memory of the largest batch,
/// and the loss against the model's output.
extension ModelPlan {
    /// Plans `config.model` (the layers, then memory and the loss's needs).
    public init(config: ExperimentConfig) {
        inputShape = config.model.input
        if ModelPlan.count(inputShape) > ModelPlan.maxValuesPerSample {
            errors.append(ConfigError(path: "$.model.input", message: "expected at most 2^32 values per sample, got \(inputShape)"))
            return
        }
        warnings += ModelPlan.linearStacks(config.model.layers, path: "$.model.layers")
        let shape = plan(config.model.layers, input: inputShape, prefix: "layers", path: "$.model.layers",
                         defaultInit: config.model.initialization, depth: 0)
        // Memory: parameters, gradients and up to two optimizer buffers, plus the activation,
        // gradient and workspace buffers of the largest batch. Refuse what cannot fit.
        let maxBatch = max(config.training.batchSize, config.training.evalBatchSize)
        let activations = rows.reduce(inputShape.reduce(1, *)) { $0 + 3 * $1.outputShape.reduce(1, *) }
        let bytes = 4.0 * (4.0 * Double(parameterCount) + 3.0 * Double(maxBatch) * Double(activations))
        if bytes > ModelPlan.memoryLimitBytes {
            errors.append(ConfigError(path: "$.model", message: "this model needs about \(Int(checking: (bytes / 1_073_741_824).rounded(.up)).map(String.init) ?? JSONValue.format(bytes / 1_073_741_824)) GiB (\(parameterCount) parameters, batches of \(maxBatch)), more than the \(Int(ModelPlan.memoryLimitBytes / 1_073_741_824)) GiB limit; use fewer units or a smaller training.batch_size / eval_batch_size"))
        }
        if let shape, config.loss.kind == .crossEntropy, shape.count != 1 {
            errors.append(ConfigError(path: "$.model.layers", message: "cross_entropy needs a flat output of one score per class, the last layer gives shape \(shape)"))
        }
        if let shape, config.loss.kind == .crossEntropy, shape.count == 1, let e = ModelPlan.labelSmoothingError(config.loss.labelSmoothing, classes: shape[0]) {
            errors.append(e)
        }
        if config.loss.kind == .crossEntropy, let w = ModelPlan.finalActivation(config.model.layers, path: "$.model.layers") {
            warnings.append(w)
        }
    }

    /// Label smoothing ε puts 1 − ε on the label and ε/(K − 1) on each other class: above
    /// (K − 1)/K the label gets less than the others and training learns the inverse of the
    /// targets, so such an ε is refused (K: the model's outputs, one per class).
    static func labelSmoothingError(_ epsilon: Float, classes k: Int) -> ConfigError? {
        guard k > 1 else { return nil }
        let limit = Double(k - 1) / Double(k)
        guard epsilon > Float(limit) else { return nil }
        return ConfigError(path: "$.loss.label_smoothing",
                           message: "expected number in 0...\(significant(limit, 6)) for the model's \(k) classes (above (K − 1)/K the label gets less weight than each other class), got \(significant(Double(epsilon), 7))")
    }
}
