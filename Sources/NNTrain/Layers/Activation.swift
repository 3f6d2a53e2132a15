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
