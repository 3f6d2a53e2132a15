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

extension Activation {
    /// The activation's ONNX nodes on `x`, named after `name` (`x` itself for linear). Opset 17
    /// has no GELU or SiLU op: they are spelled out as the kernels compute them, 0.5·x·(1 +
    /// erf(x/√2)), its tanh form, x·σ(x); softplus is (1/β)·Softplus(βx), or x where βx > threshold.
    public func onnx(_ x: String, name: String, in g: ONNXGraph) -> String {
        func c(_ v: Float, _ what: String) -> String { g.constant(name + "." + what, dims: [], [v]) }
        switch self {
        case .linear: return x
        case .relu: return g.add("Relu", [x], name: name)
        case .sigmoid: return g.add("Sigmoid", [x], name: name)
        case .tanh: return g.add("Tanh", [x], name: name)
        case .leakyReLU(let a): return g.add("LeakyRelu", [x], name: name, attributes: [("alpha", .float(a))])
        case .elu(let a): return g.add("Elu", [x], name: name, attributes: [("alpha", .float(a))])
        case let .softplus(beta, threshold):
            let bx = beta == 1 ? x : g.add("Mul", [x, c(beta, "beta")], name: name)
            var sp = g.add("Softplus", [bx], name: name)
            if beta != 1 { sp = g.add("Div", [sp, c(beta, "beta")], name: name) }
            let above = g.add("Greater", [bx, c(threshold, "threshold")], name: name)
            return g.add("Where", [above, x, sp], name: name)
        case .gelu(let approx):
            let half = g.add("Mul", [x, c(0.5, "half")], name: name)
            let t: String
            if approx {
                let x3 = g.add("Mul", [g.add("Mul", [x, x], name: name), x], name: name)
                let inner = g.add("Add", [x, g.add("Mul", [x3, c(0.044715, "cubic")], name: name)], name: name)
                t = g.add("Tanh", [g.add("Mul", [inner, c(0.7978845608028654, "k")], name: name)], name: name)
            } else {
                t = g.add("Erf", [g.add("Mul", [x, c(0.7071067811865476, "inv_sqrt2")], name: name)], name: name)
            }
            return g.add("Mul", [half, g.add("Add", [t, c(1, "one")], name: name)], name: name)
        case .silu: return g.add("Mul", [x, g.add("Sigmoid", [x], name: name)], name: name)
        }
    }
}

extension Activation {
    /// The activation applied to the Python expression `x` (`x` itself for linear), with
    /// `torch.nn.functional` as `F`: each the form nntrain's kernels compute — GELU exact
    /// (erf) or `approximate="tanh"`, softplus (1/β)·log(1 + e^(βx)) or x where βx > threshold.
    public func torch(_ x: String) -> String {
        let l = TorchCode.literal
        switch self {
        case .linear: return x
        case .relu: return "torch.relu(\(x))"
        case .sigmoid: return "torch.sigmoid(\(x))"
        case .tanh: return "torch.tanh(\(x))"
        case .leakyReLU(let a): return "F.leaky_relu(\(x), \(l(a)))"
        case .elu(let a): return "F.elu(\(x), \(l(a)))"
        case let .softplus(beta, threshold): return "F.softplus(\(x), \(l(beta)), \(l(threshold)))"
        case .gelu(let approx): return approx ? "F.gelu(\(x), approximate=\"tanh\")" : "F.gelu(\(x))"
        case .silu: return "F.silu(\(x))"
        }
    }

    /// The activation as a `torch.nn` module (`torch.nn.Identity()` for linear), for an
    /// activation layer's slot in `Model.layers`.
    public var torchModule: String {
        let l = TorchCode.literal
        switch self {
        case .linear: return "torch.nn.Identity()"
        case .relu: return "torch.nn.ReLU()"
        case .sigmoid: return "torch.nn.Sigmoid()"
        case .tanh: return "torch.nn.Tanh()"
        case .leakyReLU(let a): return "torch.nn.LeakyReLU(\(l(a)))"
        case .elu(let a): return "torch.nn.ELU(\(l(a)))"
        case let .softplus(beta, threshold): return "torch.nn.Softplus(\(l(beta)), \(l(threshold)))"
        case .gelu(let approx): return approx ? "torch.nn.GELU(approximate=\"tanh\")" : "torch.nn.GELU()"
        case .silu: return "torch.nn.SiLU()"
        }
    }
}
