import NNCore


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

extension InitSpec {
    /// Fills `tensor` (a weight `[fan_out, fan_in]`, or any shape with those fans) as
    /// `torch.nn.init` does:
    /// - xavier_uniform: U(−a, a), a = gain·√(6/(fan_in + fan_out)); xavier_normal: N(0, gain²·2/(fan_in + fan_out));
    ///   gain "auto" is 4 before a sigmoid, 1 otherwise
    /// - he_uniform: U(−b, b), b = g·√(3/fan); he_normal: N(0, g²/fan); g = √(2/(1 + a²)) for
    ///   leaky slope a; fan = fan_in, or fan_out by `mode`
    /// - lecun_normal: N(0, 1/fan_in); normal: N(mean, std²); uniform: U(a, b), or
    ///   U(−1/√fan_in, 1/√fan_in) with `"bound": "fan_in"`; constant; zeros
    /// - orthogonal: Q of the QR decomposition of a Gaussian `[rows, cols]` matrix (transposed
    ///   when rows < cols), signs fixed by R's diagonal, times gain
    public func fill(_ tensor: Tensor, fanIn: Int, fanOut: Int, activation: Activation = .linear, rng: inout Xoshiro256) {
        let p = tensor.pointer
        let n = tensor.count
        func normal(_ std: Double, mean: Double = 0) {
            for i in 0..<n { p[i] = Float(mean + std * rng.normal()) }
        }
        func uniform(_ a: Float, _ b: Float) {
            for i in 0..<n { p[i] = rng.uniform(a, b) }
        }
        func autoGain(_ g: Float?) -> Double {
            if let g { return Double(g) }
            if case .sigmoid = activation { return 4 }
            return 1
        }
        func heGain(_ slope: Float) -> Double { (2.0 / (1.0 + Double(slope) * Double(slope))).squareRoot() }
        switch self {
        case .zeros:
            tensor.fill(0)
        case .constant(let v):
            tensor.fill(v)
        case let .normal(mean, std):
            normal(Double(std), mean: Double(mean))
        case let .uniform(a, b):
            uniform(a, b)
        case .uniformFanIn:
            let bound = Float(1 / Double(fanIn).squareRoot())
            uniform(-bound, bound)
        case .xavierUniform(let g):
            let a = Float(autoGain(g) * (6.0 / Double(fanIn + fanOut)).squareRoot())
            uniform(-a, a)
        case .xavierNormal(let g):
            normal(autoGain(g) * (2.0 / Double(fanIn + fanOut)).squareRoot())
        case let .heUniform(useFanOut, slope):
            let fan = Double(useFanOut ? fanOut : fanIn)
            let b = Float(heGain(slope) * (3.0 / fan).squareRoot())
            uniform(-b, b)
        case let .heNormal(useFanOut, slope):
            let fan = Double(useFanOut ? fanOut : fanIn)
            normal(heGain(slope) / fan.squareRoot())
        case .lecunNormal:
            normal((1.0 / Double(fanIn)).squareRoot())
        case .orthogonal(let gain):
            let rows = fanOut, cols = n / max(fanOut, 1)
            let (m, k) = rows >= cols ? (rows, cols) : (cols, rows)
            let gaussian: [Float] = (0..<(m * k)).map { _ in Float(rng.normal()) }
            guard let q = orthonormalColumns(gaussian, rows: m, cols: k) else {
                normal((1.0 / Double(fanIn)).squareRoot())  // LAPACK failed: fall back to lecun_normal
                return
            }
            for i in 0..<rows {
                for j in 0..<cols {
                    p[i * cols + j] = gain * (rows >= cols ? q[i * cols + j] : q[j * rows + i])
                }
            }
        }
    }
}
