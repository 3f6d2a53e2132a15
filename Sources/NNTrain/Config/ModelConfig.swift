import NNCore

/// An element-wise nonlinearity, fused into the layer before it where possible.
public enum Activation: String, Sendable, Equatable, CaseIterable {
    case linear, relu, sigmoid, tanh

    static let names = Activation.allCases.map(\.rawValue)

    /// Reads `"relu"` or `{"type": "relu"}` at `key` of `r`.
    static func read(_ r: ObjectReader, _ key: String, default def: Activation) -> Activation {
        if case .object? = r.raw(key) {
            let o = r.object(key)
            let t = o.choice("type", names, default: nil)
            o.finish()
            return t.flatMap(Activation.init(rawValue:)) ?? def
        }
        return r.choice(key, names, default: def.rawValue).flatMap(Activation.init(rawValue:)) ?? def
    }
}

/// How a weight tensor starts (`torch.nn.init` names and formulas; fan_in = in·kh·kw).
public enum InitSpec: Sendable, Equatable {
    case zeros
    case constant(Float)
    case normal(mean: Float, std: Float)
    case uniform(low: Float, high: Float)
    case xavierUniform(gain: Float)
    case xavierNormal(gain: Float)
    case heUniform(fanOut: Bool)
    case heNormal(fanOut: Bool)
    case lecunNormal

    static let names = ["zeros", "constant", "normal", "uniform", "xavier_uniform", "xavier_normal",
                        "he_uniform", "he_normal", "lecun_normal"]

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
        switch type {
        case "zeros": spec = .zeros
        case "constant": spec = .constant(p.float("value", default: 0))
        case "normal": spec = .normal(mean: p.float("mean", default: 0), std: p.float("std", default: 0.01, check: .positive))
        case "uniform":
            let a = p.float("a", default: -0.05), b = p.float("b", default: 0.05)
            if b <= a { r.diagnostics.error(p.childPath("b"), "expected number > a (\(a)), got \(b)") }
            spec = .uniform(low: a, high: b)
        case "xavier_uniform": spec = .xavierUniform(gain: p.float("gain", default: 1, check: .positive))
        case "xavier_normal": spec = .xavierNormal(gain: p.float("gain", default: 1, check: .positive))
        case "he_uniform": spec = .heUniform(fanOut: p.choice("mode", ["fan_in", "fan_out"], default: "fan_in") == "fan_out")
        case "he_normal": spec = .heNormal(fanOut: p.choice("mode", ["fan_in", "fan_out"], default: "fan_in") == "fan_out")
        default: spec = .lecunNormal
        }
        p.finish()
        if o == nil { r.record(key, .string(type)) }
        return spec
    }

    var resolved: JSONValue {
        switch self {
        case .zeros: return .string("zeros")
        case .constant(let v): return .object([("type", .string("constant")), ("value", .number(Double(v)))])
        case .normal(let m, let s): return .object([("type", .string("normal")), ("mean", .number(Double(m))), ("std", .number(Double(s)))])
        case .uniform(let a, let b): return .object([("type", .string("uniform")), ("a", .number(Double(a))), ("b", .number(Double(b)))])
        case .xavierUniform(let g): return .object([("type", .string("xavier_uniform")), ("gain", .number(Double(g)))])
        case .xavierNormal(let g): return .object([("type", .string("xavier_normal")), ("gain", .number(Double(g)))])
        case .heUniform(let f): return .object([("type", .string("he_uniform")), ("mode", .string(f ? "fan_out" : "fan_in"))])
        case .heNormal(let f): return .object([("type", .string("he_normal")), ("mode", .string(f ? "fan_out" : "fan_in"))])
        case .lecunNormal: return .string("lecun_normal")
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

/// One entry of `model.layers`.
public enum LayerSpec: Sendable, Equatable {
    case flatten
    case dense(units: Int, activation: Activation, init: InitSpec?, bias: Bool)
    case dropout(rate: Float)
    case activation(Activation)

    static let types = ["flatten", "dense", "dropout", "relu", "sigmoid", "tanh"]

    static func read(_ r: ObjectReader) -> LayerSpec? {
        defer { r.finish() }
        guard let type = r.choice("type", types, default: nil) else { return nil }
        switch type {
        case "flatten": return .flatten
        case "dense":
            let units = r.int("units", default: 0, check: .closed(1, 1_048_576))
            if !r.has("units") { r.diagnostics.error(r.childPath("units"), "missing required key (expected integer >= 1)") }
            let act = Activation.read(r, "activation", default: .linear)
            let ini = InitSpec.read(r, "init", default: nil)
            let bias = r.bool("bias", default: true)
            return .dense(units: units, activation: act, init: ini, bias: bias)
        case "dropout":
            return .dropout(rate: r.float("rate", default: 0.5, check: .halfOpen(0, 1)))
        default:
            return .activation(Activation(rawValue: type) ?? .relu)
        }
    }

    public var typeName: String {
        switch self {
        case .flatten: return "flatten"
        case .dense: return "dense"
        case .dropout: return "dropout"
        case .activation(let a): return a.rawValue
        }
    }
}

/// `model`: input shape, default init and the layer list.
public struct ModelConfig: Sendable, Equatable {
    public var input: [Int]
    public var initialization: InitSpec
    public var layers: [LayerSpec]

    init(_ r: ObjectReader) {
        let inputD = r.doubles("input", default: nil, check: .closed(1, 16_777_216))
        if inputD == nil && !r.has("input") {
            r.diagnostics.error(r.childPath("input"), "missing required key (expected the per-sample input shape, e.g. [784] or [1, 28, 28])")
        }
        input = (inputD ?? [1]).map { Int($0) }
        if input.isEmpty || input.count > 3 {
            r.diagnostics.error(r.childPath("input"), "expected 1 to 3 dimensions ([features] or [channels, height, width]), got \(input.count)")
            input = [1]
        } else if inputD?.contains(where: { $0 != $0.rounded() }) == true {
            r.diagnostics.error(r.childPath("input"), "expected integers")
        }
        initialization = InitSpec.read(r, "init", default: .heNormal(fanOut: false)) ?? .heNormal(fanOut: false)
        var specs: [LayerSpec] = []
        var readers: [ObjectReader] = []
        if let items = r.array("layers", required: true) {
            if items.isEmpty { r.diagnostics.error(r.childPath("layers"), "expected at least one layer, got an empty list") }
            for (p, v) in items {
                let lr = ObjectReader(path: p, value: v, diagnostics: r.diagnostics)
                readers.append(lr)
                if lr.isValid, let s = LayerSpec.read(lr) { specs.append(s) } else { specs.append(.flatten) }
            }
        }
        r.recordArray("layers", readers)
        layers = specs
        r.finish()
    }
}
