import NNCore

/// An element-wise nonlinearity, fused into the layer before it where possible (torch.nn names).
public enum Activation: Sendable, Equatable, CustomStringConvertible {
    case linear, relu, sigmoid, tanh
    /// x for x > 0, αx otherwise (torch LeakyReLU, α = `alpha`, default 0.01).
    case leakyReLU(alpha: Float)
    /// x for x > 0, α(eˣ − 1) otherwise (torch ELU, default α = 1).
    case elu(alpha: Float)
    /// (1/β)·log(1 + e^(βx)), or x where βx > threshold (torch Softplus, β = 1, threshold 20).
    case softplus(beta: Float, threshold: Float)
    /// x·Φ(x) (exact, with erf) or its tanh approximation (torch GELU `approximate`).
    case gelu(tanhApproximation: Bool)
    /// x·σ(x), a.k.a. swish (torch SiLU).
    case silu

    static let names = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "softplus", "gelu", "silu", "swish"]

    public var name: String {
        switch self {
        case .linear: return "linear"
        case .relu: return "relu"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .leakyReLU: return "leaky_relu"
        case .elu: return "elu"
        case .softplus: return "softplus"
        case .gelu: return "gelu"
        case .silu: return "silu"
        }
    }

    public var description: String {
        switch self {
        case .leakyReLU(let a): return "leaky_relu(\(a))"
        case .elu(let a): return "elu(\(a))"
        case .softplus(let b, let t): return b == 1 && t == 20 ? "softplus" : "softplus(β=\(b))"
        case .gelu(let t): return t ? "gelu(tanh)" : "gelu"
        default: return name
        }
    }

    /// True when the derivative needs the input, not only the output.
    var needsInput: Bool {
        switch self {
        case .softplus, .gelu, .silu: return true
        default: return false
        }
    }

    /// Reads `"relu"` or `{"type": "leaky_relu", "alpha": 0.01}` at `key` of `r`.
    static func read(_ r: ObjectReader, _ key: String, default def: Activation) -> Activation {
        if case .object? = r.raw(key) {
            let o = r.object(key)
            defer { o.finish() }
            guard let t = o.choice("type", names, default: nil) else { return def }
            return make(t, o)
        }
        guard let t = r.choice(key, names, default: def.name) else { return def }
        let a = make(t, ObjectReader(path: r.childPath(key), value: nil, diagnostics: r.diagnostics))
        r.record(key, .string(t))
        return a
    }

    /// The activation named `type`, its parameters read from `o` (defaults when absent).
    static func make(_ type: String, _ o: ObjectReader) -> Activation {
        switch type {
        case "relu": return .relu
        case "sigmoid": return .sigmoid
        case "tanh": return .tanh
        case "leaky_relu": return .leakyReLU(alpha: o.float("alpha", default: 0.01, check: .closed(0, 1)))
        case "elu": return .elu(alpha: o.float("alpha", default: 1, check: .positive))
        case "softplus": return .softplus(beta: o.float("beta", default: 1, check: .positive),
                                          threshold: o.float("threshold", default: 20, check: .positive))
        case "gelu": return .gelu(tanhApproximation: o.choice("approximate", ["none", "tanh"], default: "none") == "tanh")
        case "silu", "swish": return .silu
        default: return .linear
        }
    }
}

/// How a weight tensor starts (`torch.nn.init` names and formulas; fan_in = in·kh·kw).
public enum InitSpec: Sendable, Equatable {
    case zeros
    case constant(Float)
    case normal(mean: Float, std: Float)
    case uniform(low: Float, high: Float)
    /// U(−1/√fan_in, 1/√fan_in): the "±1/√n" recipe (and PyTorch's default for Linear).
    case uniformFanIn
    /// gain nil = "auto": 4 for sigmoid layers, 1 otherwise (the variance-scaling table).
    case xavierUniform(gain: Float?)
    case xavierNormal(gain: Float?)
    /// gain √(2/(1 + a²)) for leaky slope a (0 for ReLU).
    case heUniform(fanOut: Bool, negativeSlope: Float)
    case heNormal(fanOut: Bool, negativeSlope: Float)
    case lecunNormal
    /// A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, times gain.
    case orthogonal(gain: Float)

    static let names = ["zeros", "constant", "normal", "uniform", "xavier_uniform", "xavier_normal",
                        "he_uniform", "he_normal", "lecun_normal", "orthogonal"]

    public static func heNormal() -> InitSpec { .heNormal(fanOut: false, negativeSlope: 0) }

    /// Reads `"he_normal"` or `{"type": "normal", "std": 0.01}`.
    static func read(_ r: ObjectReader, _ key: String, default def: InitSpec?) -> InitSpec? {
        let raw = r.raw(key)
        var type: String?
        var o: ObjectReader?
        switch raw {
        case .object?:
            let reader = r.object(key)
            o = reader
            type = reader.choice("type", names, default: nil)
        case nil, .null?:
            if let def { r.record(key, def.resolved) }
            return def
        default:
            type = r.choice(key, names, default: nil)
        }
        guard let type else { o?.finish(); return def }
        let spec: InitSpec
        let p = o ?? ObjectReader(path: r.childPath(key), value: nil, diagnostics: r.diagnostics)
        func gain() -> Float? {
            if case .string? = p.raw("gain") {
                _ = p.choice("gain", ["auto"], default: "auto")
                return nil
            }
            return p.has("gain") ? p.float("gain", default: 1, check: .positive) : { p.record("gain", .string("auto")); return nil }()
        }
        func fanOut() -> Bool { p.choice("mode", ["fan_in", "fan_out"], default: "fan_in") == "fan_out" }
        switch type {
        case "zeros": spec = .zeros
        case "constant": spec = .constant(p.float("value", default: 0))
        case "normal": spec = .normal(mean: p.float("mean", default: 0), std: p.float("std", default: 0.01, check: .positive))
        case "uniform":
            if case .string? = p.raw("bound") {
                _ = p.choice("bound", ["fan_in"], default: "fan_in")
                spec = .uniformFanIn
            } else {
                let a = p.float("a", default: -0.05), b = p.float("b", default: 0.05)
                if b <= a { r.diagnostics.error(p.childPath("b"), "expected number > a (\(a)), got \(b)") }
                spec = .uniform(low: a, high: b)
            }
        case "xavier_uniform": spec = .xavierUniform(gain: gain())
        case "xavier_normal": spec = .xavierNormal(gain: gain())
        case "he_uniform": spec = .heUniform(fanOut: fanOut(), negativeSlope: p.float("negative_slope", default: 0, check: .nonNegative))
        case "he_normal": spec = .heNormal(fanOut: fanOut(), negativeSlope: p.float("negative_slope", default: 0, check: .nonNegative))
        case "orthogonal": spec = .orthogonal(gain: p.float("gain", default: 1, check: .positive))
        default: spec = .lecunNormal
        }
        p.finish()
        if o == nil { r.record(key, spec.resolved) }
        return spec
    }

    var resolved: JSONValue {
        func obj(_ t: String, _ pairs: [(String, JSONValue)]) -> JSONValue { .object([("type", .string(t))] + pairs) }
        func g(_ x: Float?) -> JSONValue { x.map { .number(Double($0)) } ?? .string("auto") }
        switch self {
        case .zeros: return .string("zeros")
        case .constant(let v): return obj("constant", [("value", .number(Double(v)))])
        case .normal(let m, let s): return obj("normal", [("mean", .number(Double(m))), ("std", .number(Double(s)))])
        case .uniform(let a, let b): return obj("uniform", [("a", .number(Double(a))), ("b", .number(Double(b)))])
        case .uniformFanIn: return obj("uniform", [("bound", .string("fan_in"))])
        case .xavierUniform(let x): return obj("xavier_uniform", [("gain", g(x))])
        case .xavierNormal(let x): return obj("xavier_normal", [("gain", g(x))])
        case .heUniform(let f, let a):
            return obj("he_uniform", [("mode", .string(f ? "fan_out" : "fan_in")), ("negative_slope", .number(Double(a)))])
        case .heNormal(let f, let a):
            return obj("he_normal", [("mode", .string(f ? "fan_out" : "fan_in")), ("negative_slope", .number(Double(a)))])
        case .lecunNormal: return .string("lecun_normal")
        case .orthogonal(let x): return obj("orthogonal", [("gain", .number(Double(x)))])
        }
    }

    /// True for inits that give every unit the same weights (symmetry is never broken).
    public var isSymmetric: Bool {
        switch self {
        case .zeros, .constant: return true
        default: return false
        }
    }
}

/// Options every layer with weights takes.
public struct LayerOptions: Sendable, Equatable {
    /// Weight initialisation (nil: the model's default).
    public var initialization: InitSpec?
    /// Initial value of every bias.
    public var biasInit: Float = 0
    /// Frozen: the optimizer never changes this layer's parameters.
    public var freeze = false
    /// Multiplier of the learning rate for this layer's parameters.
    public var lrMultiplier: Float = 1

    static func read(_ r: ObjectReader, hasBias: Bool) -> LayerOptions {
        var o = LayerOptions()
        o.initialization = InitSpec.read(r, "init", default: nil)
        if hasBias { o.biasInit = r.float("bias_init", default: 0) }
        o.freeze = r.bool("freeze", default: false)
        o.lrMultiplier = r.float("lr_mult", default: 1, check: .nonNegative)
        return o
    }
}

/// One entry of `model.layers`.
public indirect enum LayerSpec: Sendable, Equatable {
    case flatten
    case dense(units: Int, activation: Activation, bias: Bool, weightNorm: Bool, options: LayerOptions)
    case dropout(rate: Float)
    case activation(Activation)
    /// Learnable leaky slope (torch PReLU): one slope, or one per channel/feature.
    case prelu(perChannel: Bool, initial: Float, options: LayerOptions)
    /// Randomised leaky ReLU (torch RReLU): slope ~ U(lower, upper) per element in training,
    /// (lower + upper)/2 in evaluation.
    case rrelu(lower: Float, upper: Float)
    /// Maxout (Goodfellow et al. 2013): `units` outputs, each the max of `pieces` linear units.
    case maxout(units: Int, pieces: Int, options: LayerOptions)
    /// Batch normalisation over the batch (per feature, or per channel of images).
    case batchNorm(momentum: Float, eps: Float, affine: Bool, options: LayerOptions)
    /// Layer normalisation over each sample's features.
    case layerNorm(eps: Float, affine: Bool, options: LayerOptions)
    /// Local response normalisation across channels (AlexNet).
    case lrn(size: Int, alpha: Float, beta: Float, k: Float)
    /// y = F(x) + x (or a projection of x when F changes the shape).
    case residual(layers: [LayerSpec])
    /// 2-D convolution; `padding` nil means "same" (output size = input size, stride 1).
    case conv2d(outChannels: Int, kernel: [Int], stride: [Int], padding: [Int]?, dilation: [Int], activation: Activation,
                bias: Bool, weightNorm: Bool, options: LayerOptions)
    case pool2d(max: Bool, kernel: [Int], stride: [Int])
    case globalAvgPool

    static let activationTypes = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "softplus", "gelu", "silu", "swish"]
    static let types = ["flatten", "dense", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool", "dropout", "activation",
                        "prelu", "rrelu", "maxout", "batch_norm", "layer_norm", "local_response_norm", "residual"] + activationTypes

    static func read(_ r: ObjectReader) -> LayerSpec? {
        defer { r.finish() }
        guard let type = r.choice("type", types, default: nil) else { return nil }
        func units() -> Int {
            let u = r.int("units", default: 1, check: .closed(1, 1_048_576))
            if !r.has("units") { r.diagnostics.error(r.childPath("units"), "missing required key (expected integer >= 1)") }
            return u
        }
        /// A size as one number or [height, width].
        func pair(_ key: String, _ def: Int, min: Double) -> [Int] {
            if case .array? = r.raw(key) {
                return r.ints(key, default: [def, def], count: 2, check: .closed(min, 4096)) ?? [def, def]
            }
            let n = r.int(key, default: def, check: .closed(min, 4096))
            return [n, n]
        }
        switch type {
        case "flatten": return .flatten
        case "global_avg_pool": return .globalAvgPool
        case "max_pool2d", "avg_pool2d":
            let k = pair("kernel_size", 2, min: 1)
            let s = r.has("stride") ? pair("stride", 2, min: 1) : { r.record("stride", .array(k.map { .number(Double($0)) })); return k }()
            return .pool2d(max: type == "max_pool2d", kernel: k, stride: s)
        case "conv2d":
            let out = r.int("out_channels", default: 1, check: .closed(1, 65536))
            if !r.has("out_channels") { r.diagnostics.error(r.childPath("out_channels"), "missing required key (expected integer >= 1)") }
            let k = pair("kernel_size", 3, min: 1)
            let s = pair("stride", 1, min: 1)
            var padding: [Int]? = nil
            if case .string? = r.raw("padding") {
                _ = r.choice("padding", ["same", "valid"], default: "same")
                if r.raw("padding") == .string("valid") { padding = [0, 0] }
            } else if r.has("padding") {
                padding = pair("padding", 0, min: 0)
            } else {
                r.record("padding", .string("same"))
            }
            let d = pair("dilation", 1, min: 1)
            let act = Activation.read(r, "activation", default: .linear)
            let bias = r.bool("bias", default: true)
            let wn = r.bool("weight_norm", default: false)
            return .conv2d(outChannels: out, kernel: k, stride: s, padding: padding, dilation: d, activation: act, bias: bias,
                           weightNorm: wn, options: LayerOptions.read(r, hasBias: bias))
        case "dense":
            let u = units()
            let act = Activation.read(r, "activation", default: .linear)
            let bias = r.bool("bias", default: true)
            let wn = r.bool("weight_norm", default: false)
            return .dense(units: u, activation: act, bias: bias, weightNorm: wn, options: LayerOptions.read(r, hasBias: bias))
        case "dropout":
            return .dropout(rate: r.float("rate", default: 0.5, check: .halfOpen(0, 1)))
        case "activation":
            return .activation(Activation.read(r, "activation", default: .relu))
        case "prelu":
            let per = r.choice("slopes", ["shared", "per_channel"], default: "shared") == "per_channel"
            let initial = r.float("init_slope", default: 0.25, check: .closed(-10, 10))
            var o = LayerOptions()
            o.freeze = r.bool("freeze", default: false)
            o.lrMultiplier = r.float("lr_mult", default: 1, check: .nonNegative)
            return .prelu(perChannel: per, initial: initial, options: o)
        case "rrelu":
            let lower = r.float("lower", default: 1.0 / 8, check: .closed(0, 1))
            let upper = r.float("upper", default: 1.0 / 3, check: .closed(0, 1))
            if upper < lower { r.diagnostics.error(r.childPath("upper"), "expected number >= lower (\(lower)), got \(upper)") }
            return .rrelu(lower: lower, upper: upper)
        case "maxout":
            let u = units()
            let k = r.int("pieces", default: 2, check: .closed(2, 64))
            return .maxout(units: u, pieces: k, options: LayerOptions.read(r, hasBias: true))
        case "batch_norm", "layer_norm":
            let momentum = type == "batch_norm" ? r.float("momentum", default: 0.1, check: .closed(0, 1)) : 0
            let eps = r.float("eps", default: 1e-5, check: .positive)
            let affine = r.bool("affine", default: true)
            var o = LayerOptions()
            o.freeze = r.bool("freeze", default: false)
            o.lrMultiplier = r.float("lr_mult", default: 1, check: .nonNegative)
            return type == "batch_norm" ? .batchNorm(momentum: momentum, eps: eps, affine: affine, options: o)
                : .layerNorm(eps: eps, affine: affine, options: o)
        case "local_response_norm":
            let size = r.int("size", default: 5, check: .closed(1, 1024))
            return .lrn(size: size, alpha: r.float("alpha", default: 1e-4, check: .nonNegative),
                        beta: r.float("beta", default: 0.75, check: .nonNegative), k: r.float("k", default: 1, check: .positive))
        case "residual":
            let specs = LayerSpec.readList(r, "layers")
            return .residual(layers: specs)
        default:
            return .activation(Activation.make(type, r))
        }
    }

    /// Reads the list of layers under `key` (required, non-empty). An invalid entry keeps its
    /// place as a placeholder so indices stay right; its errors are already recorded.
    static func readList(_ r: ObjectReader, _ key: String) -> [LayerSpec] {
        var specs: [LayerSpec] = []
        var readers: [ObjectReader] = []
        if let items = r.array(key, required: true) {
            if items.isEmpty { r.diagnostics.error(r.childPath(key), "expected at least one layer, got an empty list") }
            for (p, v) in items {
                let lr = ObjectReader(path: p, value: v, diagnostics: r.diagnostics)
                readers.append(lr)
                specs.append(lr.isValid ? (LayerSpec.read(lr) ?? .flatten) : .flatten)
            }
        }
        r.recordArray(key, readers)
        return specs
    }

    public var typeName: String {
        switch self {
        case .flatten: return "flatten"
        case .dense: return "dense"
        case .dropout: return "dropout"
        case .activation(let a): return a.description
        case .prelu: return "prelu"
        case .rrelu: return "rrelu"
        case .maxout: return "maxout"
        case .batchNorm: return "batch_norm"
        case .layerNorm: return "layer_norm"
        case .lrn: return "local_response_norm"
        case .residual: return "residual"
        case .conv2d: return "conv2d"
        case .pool2d(let m, _, _): return m ? "max_pool2d" : "avg_pool2d"
        case .globalAvgPool: return "global_avg_pool"
        }
    }

    /// The options of a layer with weights (nil for the others).
    public var options: LayerOptions? {
        switch self {
        case .dense(_, _, _, _, let o), .prelu(_, _, let o), .maxout(_, _, let o), .batchNorm(_, _, _, let o),
             .layerNorm(_, _, let o), .conv2d(_, _, _, _, _, _, _, _, let o): return o
        default: return nil
        }
    }
}

/// `model`: input shape, default init and the layer list.
public struct ModelConfig: Sendable, Equatable {
    public var input: [Int]
    public var initialization: InitSpec
    public var layers: [LayerSpec]
    /// A safetensors file (an earlier run's model.safetensors, or a torch `state_dict` saved
    /// with safetensors) whose tensors replace the initial weights and running statistics of
    /// the layers with the same names (`Pretrained.load`).
    public var from: String? = nil
    /// Only these top-level layer indices are loaded (nil: every layer with tensors).
    public var fromLayers: [Int]? = nil
    /// Removed from the start of every tensor name in `from` before matching (`"model."`,
    /// `"module."`).
    public var fromPrefix = ""
    /// Renames, applied after `fromPrefix`: a name in the file (`"features.0"`, or a whole
    /// component prefix of one) → a layer of this model (`"layers.1"`); the longest key wins.
    public var fromMap: [String: String] = [:]

    init(_ r: ObjectReader, baseDirectory: String) {
        let inputD = r.doubles("input", default: nil, check: .closed(1, 16_777_216))
        if inputD == nil && !r.has("input") {
            r.diagnostics.error(r.childPath("input"), "missing required key (expected the per-sample input shape, e.g. [784] or [1, 28, 28])")
        }
        // Non-integers are reported below; 1 stands in for them meanwhile.
        input = (inputD ?? [1]).map { Int(checking: $0) ?? 1 }
        if input.isEmpty || input.count > 3 {
            r.diagnostics.error(r.childPath("input"), "expected 1 to 3 dimensions ([features] or [channels, height, width]), got \(input.count)")
            input = [1]
        } else if inputD?.contains(where: { $0 != $0.rounded() }) == true {
            r.diagnostics.error(r.childPath("input"), "expected integers")
        }
        initialization = InitSpec.read(r, "init", default: .heNormal()) ?? .heNormal()
        if let f = r.string("from", default: nil) {
            from = resolvePath(f, baseDirectory)
            r.record("from", .string(from!))
        }
        let fromLayersD = r.doubles("from_layers", default: nil, check: .closed(0, 1_000_000))
        fromPrefix = r.string("from_prefix", default: "") ?? ""
        fromMap = ModelConfig.readFromMap(r)
        let specs = LayerSpec.readList(r, "layers")
        layers = specs
        if let d = fromLayersD {
            var indices: [Int] = []
            for (i, x) in d.enumerated() {
                guard let index = Int(checking: x), index < specs.count else {
                    r.diagnostics.error(r.childPath("from_layers") + ".\(i)",
                                        "expected a layer index (integer in 0...\(max(0, specs.count - 1))), got \(JSONValue.format(x))")
                    continue
                }
                indices.append(index)
            }
            fromLayers = indices
        }
        if from == nil {
            for key in ["from_layers", "from_prefix", "from_map"] where r.has(key) && r.raw(key) != .string("") && r.raw(key) != .object([]) {
                r.diagnostics.error(r.childPath(key), "needs model.from (the safetensors file to load from)")
            }
        }
        r.finish()
    }

    /// `from_map`: an object of non-empty strings, each value a layer name of this model.
    static func readFromMap(_ r: ObjectReader) -> [String: String] {
        guard let v = r.raw("from_map"), v != .null else { r.record("from_map", .null); return [:] }
        guard case .object(let pairs) = v else {
            r.diagnostics.error(r.childPath("from_map"), "expected an object {\"name in the file\": \"layers.N\"}, got \(v.brief)")
            r.record("from_map", .null)
            return [:]
        }
        var map: [String: String] = [:]
        for (k, value) in pairs {
            let path = r.childPath("from_map") + "." + k
            guard !k.isEmpty else { r.diagnostics.error(path, "expected a tensor name prefix, got an empty key"); continue }
            guard let target = value.stringValue, isLayerName(target) else {
                r.diagnostics.error(path, "expected a layer name of this model (\"layers.N\", e.g. \"layers.1\"), got \(value.brief)")
                continue
            }
            if map[k] != nil { continue }  // the reader already reported the duplicate key
            map[k] = target
        }
        r.record("from_map", .object(pairs.filter { map[$0.0] != nil }))
        return map
    }

    /// `layers.N`, optionally with nested parts (`layers.2.layers.0`, `layers.2.projection`).
    static func isLayerName(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "layers", Int(parts[1]) != nil else { return false }
        return !parts.contains { $0.isEmpty }
    }
}
