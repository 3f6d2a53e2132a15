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
        /// Nesting depth (layers inside a residual block are 1 deeper).
        public var depth = 0
    }

    public var inputShape: [Int]
    public var rows: [Row] = []
    public var errors: [ConfigError] = []
    public var warnings: [ConfigError] = []

    public var outputShape: [Int] { rows.last(where: { $0.depth == 0 })?.outputShape ?? inputShape }
    /// The most memory a model's buffers may need (`NNTRAIN_MAX_MEMORY_GB`, default 8 GiB).
    public static var memoryLimitBytes: Double {
        let gb = Runtime.environment("NNTRAIN_MAX_MEMORY_GB").flatMap(Double.init) ?? 8
        return gb * 1_073_741_824
    }
    public var parameterCount: Int { rows.reduce(0) { $0 + $1.parameterCount } }

    /// Plans `specs` on `input`; returns the output shape, or nil after recording an error.
    mutating func plan(_ specs: [LayerSpec], input: [Int], prefix: String, path prefixPath: String, config: ExperimentConfig, depth: Int) -> [Int]? {
        var shape = input
        for (i, spec) in specs.enumerated() {
            let path = "\(prefixPath).\(i)"
            var desc = spec.typeName
            var params = 0
            func needFlat(_ what: String) -> Bool {
                guard shape.count == 1 else {
                    errors.append(ConfigError(path: path, message: "\(what) expects a flat input [features], got shape \(shape) from the layer before; insert {\"type\": \"flatten\"} before it"))
                    return false
                }
                return true
            }
            func symmetric(_ o: LayerOptions) {
                if (o.initialization ?? config.model.initialization).isSymmetric {
                    warnings.append(ConfigError(path: path + ".init", message: "every weight starts equal, so all units of this layer compute and learn the same thing (symmetry is never broken); use he_normal or xavier_uniform"))
                }
            }
            func needImage(_ what: String) -> Bool {
                guard shape.count == 3 else {
                    errors.append(ConfigError(path: path, message: "\(what) expects an image input [channels, height, width], got shape \(shape)"))
                    return false
                }
                return true
            }
            switch spec {
            case .flatten:
                shape = [shape.reduce(1, *)]
            case let .conv2d(out, k, s, padding, d, act, bias, weightNorm, options):
                guard needImage("conv2d") else { return nil }
                if padding == nil && (s[0] != 1 || s[1] != 1) {
                    errors.append(ConfigError(path: path + ".padding", message: "\"same\" padding needs stride 1, got stride \(s); give the padding as a number"))
                    return nil
                }
                let p = padding ?? [d[0] * (k[0] - 1) / 2, d[1] * (k[1] - 1) / 2]
                if padding == nil && ((d[0] * (k[0] - 1)) % 2 != 0 || (d[1] * (k[1] - 1)) % 2 != 0) {
                    errors.append(ConfigError(path: path + ".padding", message: "\"same\" padding needs an odd kernel size, got \(k); give the padding as a number"))
                    return nil
                }
                let h = Conv2D.outputSize(shape[1], k[0], s[0], p[0], d[0]), w = Conv2D.outputSize(shape[2], k[1], s[1], p[1], d[1])
                guard h >= 1 && w >= 1 else {
                    errors.append(ConfigError(path: path, message: "kernel \(k) (dilation \(d)) does not fit the input \(shape) with padding \(p): the output would be \(h)×\(w)"))
                    return nil
                }
                params = out * shape[0] * k[0] * k[1] + (bias ? out : 0) + (weightNorm ? out : 0)
                desc = "conv2d \(shape[0])→\(out) \(k[0])×\(k[1])" + (s != [1, 1] ? " /\(s[0])" : "") + (act == .linear ? "" : ", \(act)")
                    + (weightNorm ? ", weight norm" : "")
                symmetric(options)
                shape = [out, h, w]
            case let .pool2d(isMax, k, s):
                guard needImage(spec.typeName) else { return nil }
                let h = (shape[1] - k[0]) / s[0] + 1, w = (shape[2] - k[1]) / s[1] + 1
                guard shape[1] >= k[0] && shape[2] >= k[1] else {
                    errors.append(ConfigError(path: path, message: "pooling window \(k) is larger than the input \(shape)"))
                    return nil
                }
                desc = (isMax ? "max_pool2d" : "avg_pool2d") + " \(k[0])×\(k[1])"
                shape = [shape[0], h, w]
            case .globalAvgPool:
                guard needImage("global_avg_pool") else { return nil }
                shape = [shape[0]]
            case let .dense(units, act, bias, weightNorm, options):
                guard needFlat("dense") else { return nil }
                params = units * shape[0] + (bias ? units : 0) + (weightNorm ? units : 0)
                desc = "dense \(shape[0])→\(units)" + (act == .linear ? "" : ", \(act)") + (weightNorm ? ", weight norm" : "")
                symmetric(options)
                shape = [units]
            case let .maxout(units, pieces, options):
                guard needFlat("maxout") else { return nil }
                params = units * pieces * (shape[0] + 1)
                desc = "maxout \(shape[0])→\(units)×\(pieces)"
                symmetric(options)
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
            case let .batchNorm(_, _, affine, _):
                params = affine ? 2 * shape[0] : 0
                desc = shape.count == 1 ? "batch_norm (\(shape[0]) features)" : "batch_norm (\(shape[0]) channels)"
            case let .layerNorm(_, affine, _):
                params = affine ? 2 * shape.reduce(1, *) : 0
                desc = "layer_norm (\(shape.reduce(1, *)) features)"
            case .lrn(let size, _, _, _):
                desc = "local_response_norm n=\(size)"
            case .residual(let inner):
                let rowIndex = rows.count
                rows.append(Row(index: i, name: "\(prefix).\(i)", description: "residual", outputShape: shape, parameterCount: 0, depth: depth))
                guard let out = plan(inner, input: shape, prefix: "\(prefix).\(i).layers", path: path + ".layers", config: config, depth: depth + 1) else { return nil }
                if out != shape {
                    if shape.count == 1 && out.count == 1 {
                        params = shape[0] * out[0]
                        rows[rowIndex].description = "residual, projection \(shape[0])→\(out[0])"
                    } else if shape.count == 3 && out.count == 3 && out[1] > 0 && shape[1] % out[1] == 0 && shape[2] % out[2] == 0
                                && shape[1] / out[1] == shape[2] / out[2] {
                        params = shape[0] * out[0]
                        rows[rowIndex].description = "residual, 1×1 projection \(shape[0])→\(out[0])" + (shape[1] != out[1] ? " /\(shape[1] / out[1])" : "")
                    } else {
                        errors.append(ConfigError(path: path, message: "the block maps shape \(shape) to \(out); a projection needs both flat, or both images whose size shrinks by a whole stride"))
                        return nil
                    }
                }
                rows[rowIndex].outputShape = out
                rows[rowIndex].parameterCount = params
                shape = out
                continue
            }
            if ModelPlan.count(shape) > ModelPlan.maxValuesPerSample {
                errors.append(ConfigError(path: path, message: "\(desc) outputs shape \(shape), more than the limit of 2^32 values per sample"))
                return nil
            }
            if params > 1 << 30 {
                errors.append(ConfigError(path: path, message: "\(desc) has \(params) parameters, more than the limit of 2^30"))
                return nil
            }
            if let o = spec.options, o.freeze, params > 0 { desc += " (frozen)" }
            else if let o = spec.options, o.lrMultiplier != 1 { desc += " (lr ×\(o.lrMultiplier))" }
            rows.append(Row(index: i, name: "\(prefix).\(i)", description: desc, outputShape: shape, parameterCount: params, depth: depth))
        }
        return shape
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

    /// The most values one sample may have at any layer (keeps every count below in 64 bits).
    static let maxValuesPerSample = 1 << 32

    /// The number of values in `shape`, saturating at `Int.max` (shapes come from the config).
    static func count(_ shape: [Int]) -> Int {
        shape.reduce(1) { n, d in
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            return overflow ? Int.max : p
        }
    }

    public init(config: ExperimentConfig) {
        inputShape = config.model.input
        if ModelPlan.count(inputShape) > ModelPlan.maxValuesPerSample {
            errors.append(ConfigError(path: "$.model.input", message: "expected at most 2^32 values per sample, got \(inputShape)"))
            return
        }
        warnings += ModelPlan.linearStacks(config.model.layers, path: "$.model.layers")
        let shape = plan(config.model.layers, input: inputShape, prefix: "layers", path: "$.model.layers", config: config, depth: 0)
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

    /// The shape errors worth reporting beside the `other` problems of the same config: none
    /// when the input shape or the layer list is itself wrong, else those of the layers before
    /// the first layer with a problem of its own (an entry that did not read stands in as a
    /// placeholder, so the shapes after it are unknown) and, when every layer read, those of
    /// the whole model.
    public func errors(besides other: [ConfigError]) -> [ConfigError] {
        let layers = "$.model.layers"
        func layerIndex(_ path: String) -> Int? {
            guard path.hasPrefix(layers + ".") else { return nil }
            return Int(path.dropFirst(layers.count + 1).prefix { $0 != "." })
        }
        if other.contains(where: { ["$", "$.model", "$.model.input", layers].contains($0.path) || $0.path.hasPrefix("$.model.input.") }) {
            return []
        }
        let lossChanged = other.contains { $0.path.hasPrefix("$.loss") }
        guard let firstBad = other.compactMap({ layerIndex($0.path) }).min() else {
            return errors.filter { !(lossChanged && $0.path == layers) }
        }
        return errors.filter { e in layerIndex(e.path).map { $0 < firstBad } ?? false }
    }

    /// Warnings for two dense or conv2d layers with no nonlinearity between them: the pair
    /// computes one linear map (W₂(W₁x + b₁) + b₂ = Wx + b), so the extra layer adds parameters
    /// but no expressive power. Flatten, dropout, average pooling and batch norm (affine once
    /// trained) are linear; an activation, max pooling, maxout, layer and response norm are not.
    /// A residual block is checked inside and counts as a nonlinearity from outside.
    static func linearStacks(_ specs: [LayerSpec], path: String) -> [ConfigError] {
        var warnings: [ConfigError] = []
        var pending: (index: Int, type: String)? = nil  // the last linear map not yet followed by a nonlinearity
        for (i, spec) in specs.enumerated() {
            switch spec {
            case let .dense(_, activation, _, _, _), let .conv2d(_, _, _, _, _, activation, _, _, _):
                if let p = pending {
                    let first = "\(path.dropFirst("$.model.".count)).\(p.index)"
                    warnings.append(ConfigError(path: "\(path).\(i)", message: "no nonlinearity between \(p.type) \(first) and this \(spec.typeName), so the two compute one linear map; give \(first) an activation (e.g. \"activation\": \"relu\")"))
                }
                pending = activation == .linear ? (i, spec.typeName) : nil
            case .flatten, .dropout, .batchNorm, .globalAvgPool, .pool2d(max: false, _, _):
                break
            case .activation(let a):
                if a != .linear { pending = nil }
            case .residual(let inner):
                warnings += linearStacks(inner, path: "\(path).\(i).layers")
                pending = nil
            case .pool2d, .prelu, .rrelu, .maxout, .layerNorm, .lrn:
                pending = nil
            }
        }
        return warnings
    }

    /// A warning when the model's output passes through an activation before cross_entropy,
    /// which applies log-softmax to raw scores itself: a relu clips the scores at 0, a sigmoid
    /// or tanh squashes them into a narrow range, and the loss can no longer reach its minimum.
    /// Dropout and flatten at the end are looked through.
    static func finalActivation(_ specs: [LayerSpec], path: String) -> ConfigError? {
        for (i, spec) in specs.enumerated().reversed() {
            switch spec {
            case .dropout, .flatten:
                continue
            case let .dense(_, a, _, _, _), let .conv2d(_, _, _, _, _, a, _, _, _):
                guard a != .linear else { return nil }
                return ConfigError(path: "\(path).\(i).activation", message: "cross_entropy applies softmax to the raw scores itself; the last \(spec.typeName) layer's \(a.name) distorts them. Remove its activation")
            case .activation(let a):
                guard a != .linear else { return nil }
                return ConfigError(path: "\(path).\(i)", message: "cross_entropy applies softmax to the raw scores itself; a final \(a.name) distorts them. Remove this layer")
            case .prelu, .rrelu:
                return ConfigError(path: "\(path).\(i)", message: "cross_entropy applies softmax to the raw scores itself; a final \(spec.typeName) distorts them. Remove this layer")
            default:
                return nil
            }
        }
        return nil
    }
}
