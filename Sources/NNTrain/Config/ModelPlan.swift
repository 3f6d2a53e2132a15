import NNCore

/// Shapes and parameter counts of a model, worked out from the config alone (no data, no
/// allocation), so a layer that does not fit its input fails before anything is loaded.
public struct ModelPlan: Sendable {
    public struct Row: Sendable {
        public var index: Int
        public var name: String
        public var description: String
        /// Per-sample output shape.
        public var outputShape: [Int]
        public var parameterCount: Int
    }

    public var inputShape: [Int]
    public var rows: [Row] = []
    public var errors: [ConfigError] = []
    public var warnings: [ConfigError] = []

    public var outputShape: [Int] { rows.last?.outputShape ?? inputShape }
    /// The most memory a model's buffers may need (`NNTRAIN_MAX_MEMORY_GB`, default 8 GiB).
    public static var memoryLimitBytes: Double {
        let gb = Runtime.environment("NNTRAIN_MAX_MEMORY_GB").flatMap(Double.init) ?? 8
        return gb * 1_073_741_824
    }
    public var parameterCount: Int { rows.reduce(0) { $0 + $1.parameterCount } }

    public init(config: ExperimentConfig) {
        inputShape = config.model.input
        var shape = inputShape
        for (i, spec) in config.model.layers.enumerated() {
            let path = "$.model.layers.\(i)"
            var desc = spec.typeName
            var params = 0
            func needFlat(_ what: String) -> Bool {
                guard shape.count == 1 else {
                    errors.append(ConfigError(path: path, message: "\(what) expects a flat input [features], got shape \(shape) from the layer before; insert {\"type\": \"flatten\"} before it"))
                    return false
                }
                return true
            }
            switch spec {
            case .flatten:
                shape = [shape.reduce(1, *)]
            case let .dense(units, act, bias, options):
                guard needFlat("dense") else { return }
                params = units * shape[0] + (bias ? units : 0)
                desc = "dense \(shape[0])→\(units)" + (act == .linear ? "" : ", \(act)")
                if (options.initialization ?? config.model.initialization).isSymmetric {
                    warnings.append(ConfigError(path: path + ".init", message: "every weight starts equal, so all units of this layer compute and learn the same thing (symmetry is never broken); use he_normal or xavier_uniform"))
                }
                shape = [units]
            case let .maxout(units, pieces, options):
                guard needFlat("maxout") else { return }
                params = units * pieces * (shape[0] + 1)
                desc = "maxout \(shape[0])→\(units)×\(pieces)"
                if (options.initialization ?? config.model.initialization).isSymmetric {
                    warnings.append(ConfigError(path: path + ".init", message: "every weight starts equal, so the pieces never differ; use he_normal or xavier_uniform"))
                }
                shape = [units]
            case let .prelu(perChannel, _, _):
                params = perChannel ? shape[0] : 1
                desc = perChannel ? "prelu (\(shape[0]) slopes)" : "prelu"
            case .dropout(let rate):
                desc = "dropout p=\(rate)"
            case .rrelu(let l, let u):
                desc = "rrelu [\(l), \(u)]"
            case .activation:
                break
            }
            if params > 1 << 30 {
                errors.append(ConfigError(path: path, message: "\(desc) has \(params) parameters, more than the limit of 2^30"))
                return
            }
            if let o = spec.options, o.freeze, params > 0 { desc += " (frozen)" }
            else if let o = spec.options, o.lrMultiplier != 1 { desc += " (lr ×\(o.lrMultiplier))" }
            rows.append(Row(index: i, name: "layers.\(i)", description: desc, outputShape: shape, parameterCount: params))
        }
        // Memory: parameters, gradients and up to two optimizer buffers, plus the activation,
        // gradient and workspace buffers of the largest batch. Refuse what cannot fit.
        let maxBatch = max(config.training.batchSize, config.training.evalBatchSize)
        let activations = rows.reduce(inputShape.reduce(1, *)) { $0 + $1.outputShape.reduce(1, *) }
        let bytes = 4.0 * (4.0 * Double(parameterCount) + 3.0 * Double(maxBatch) * Double(activations))
        if bytes > ModelPlan.memoryLimitBytes {
            errors.append(ConfigError(path: "$.model", message: "this model needs about \(Int((bytes / 1_073_741_824).rounded(.up))) GiB (\(parameterCount) parameters, batches of \(maxBatch)), more than the \(Int(ModelPlan.memoryLimitBytes / 1_073_741_824)) GiB limit; use fewer units or a smaller training.batch_size / eval_batch_size"))
        }
        if config.loss.kind == .crossEntropy, shape.count != 1 {
            errors.append(ConfigError(path: "$.model.layers", message: "cross_entropy needs a flat output of one score per class, the last layer gives shape \(shape)"))
        }
        if let last = config.model.layers.last, case .activation(let a) = last, config.loss.kind == .crossEntropy, a == .sigmoid || a == .tanh {
            warnings.append(ConfigError(path: "$.model.layers.\(config.model.layers.count - 1)", message: "cross_entropy applies softmax itself; a final \(a.name) squashes the logits"))
        }
        if case let .dense(_, a, _, _)? = config.model.layers.last, a != .linear, config.loss.kind == .crossEntropy {
            warnings.append(ConfigError(path: "$.model.layers.\(config.model.layers.count - 1).activation", message: "cross_entropy applies softmax itself; the last dense layer usually has no activation"))
        }
    }
}
