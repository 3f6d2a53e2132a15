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
    /// Layers without their own `init` start from `defaultInit` (the symmetry warning).
    mutating func plan(_ specs: [LayerSpec], input: [Int], prefix: String, path prefixPath: String, defaultInit: InitSpec,
                       depth: Int) -> [Int]? {
        var shape = input
        for (i, spec) in specs.enumerated() {
            let site = LayerSite(index: i, name: "\(prefix).\(i)", path: "\(prefixPath).\(i)", depth: depth, defaultInit: defaultInit, seed: 0)
            guard let planned = spec.kind.plan(input: shape, at: site, in: &self) else { return nil }
            shape = planned.output
            if planned.ownRows { continue }
            var desc = planned.description
            let params = planned.parameters
            if ModelPlan.count(shape) > ModelPlan.maxValuesPerSample {
                errors.append(ConfigError(path: site.path, message: "\(desc) outputs shape \(shape), more than the limit of 2^32 values per sample"))
                return nil
            }
            if params > 1 << 30 {
                errors.append(ConfigError(path: site.path, message: "\(desc) has \(params) parameters, more than the limit of 2^30"))
                return nil
            }
            if let o = spec.options, o.freeze, params > 0 { desc += " (frozen)" }
            else if let o = spec.options, o.lrMultiplier != 1 { desc += " (lr ×\(o.lrMultiplier))" }
            rows.append(Row(index: i, name: site.name, description: desc, outputShape: shape, parameterCount: params, depth: depth))
        }
        return shape
    }

    /// Records that the layer at `site` needs a flat input; false when `shape` is not.
    mutating func needFlat(_ shape: [Int], _ what: String, at site: LayerSite) -> Bool {
        guard shape.count == 1 else {
            errors.append(ConfigError(path: site.path, message: "\(what) expects a flat input [features], got shape \(shape) from the layer before; insert {\"type\": \"flatten\"} before it"))
            return false
        }
        return true
    }

    /// Records that the layer at `site` needs an image input; false when `shape` is not one.
    mutating func needImage(_ shape: [Int], _ what: String, at site: LayerSite) -> Bool {
        guard shape.count == 3 else {
            errors.append(ConfigError(path: site.path, message: "\(what) expects an image input [channels, height, width], got shape \(shape)"))
            return false
        }
        return true
    }

    /// Warns when the weights at `site` all start equal.
    mutating func warnIfSymmetric(_ o: LayerOptions, at site: LayerSite) {
        if (o.initialization ?? site.defaultInit).isSymmetric {
            warnings.append(ConfigError(path: site.path + ".init", message: "every weight starts equal, so all units of this layer compute and learn the same thing (symmetry is never broken); use he_normal or xavier_uniform"))
        }
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
    /// but no expressive power. Which layers keep a map linear, each kind says (`linearity`).
    /// A residual block is checked inside and counts as a nonlinearity from outside.
    static func linearStacks(_ specs: [LayerSpec], path: String) -> [ConfigError] {
        var warnings: [ConfigError] = []
        var pending: (index: Int, type: String)? = nil  // the last linear map not yet followed by a nonlinearity
        for (i, spec) in specs.enumerated() {
            switch spec.kind.linearity {
            case .linearMap(let activation):
                if let p = pending {
                    let first = "\(path.dropFirst("$.model.".count)).\(p.index)"
                    warnings.append(ConfigError(path: "\(path).\(i)", message: "no nonlinearity between \(p.type) \(first) and this \(spec.typeName), so the two compute one linear map; give \(first) an activation (e.g. \"activation\": \"relu\")"))
                }
                pending = activation == .linear ? (i, spec.typeName) : nil
            case .linear:
                break
            case .block(let inner):
                warnings += linearStacks(inner, path: "\(path).\(i).layers")
                pending = nil
            case .nonlinear:
                pending = nil
            }
        }
        return warnings
    }

    /// A warning when the model's output passes through an activation before cross_entropy,
    /// which applies log-softmax to raw scores itself: a relu clips the scores at 0, a sigmoid
    /// or tanh squashes them into a narrow range, and the loss can no longer reach its minimum.
    /// Dropout and flatten at the end are looked through (each kind's `outputActivation`).
    static func finalActivation(_ specs: [LayerSpec], path: String) -> ConfigError? {
        for (i, spec) in specs.enumerated().reversed() {
            switch spec.kind.outputActivation {
            case .transparent:
                continue
            case .fused(let a):
                guard a != .linear else { return nil }
                return ConfigError(path: "\(path).\(i).activation", message: "cross_entropy applies softmax to the raw scores itself; the last \(spec.typeName) layer's \(a.name) distorts them. Remove its activation")
            case .layer(let name):
                return ConfigError(path: "\(path).\(i)", message: "cross_entropy applies softmax to the raw scores itself; a final \(name) distorts them. Remove this layer")
            case .none:
                return nil
            }
        }
        return nil
    }
}
