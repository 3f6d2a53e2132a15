import NNCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
