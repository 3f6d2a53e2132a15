import NNCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension InitSpec {
    /// Fills `tensor` (a weight with the given fans) as `torch.nn.init` does.
    ///
    /// - xavier_uniform: U(−a, a), a = gain·√(6/(fan_in + fan_out)); xavier_normal: N(0, gain²·2/(fan_in + fan_out))
    /// - he_uniform: U(−b, b), b = √(6/fan); he_normal: N(0, 2/fan) (fan = fan_in, or fan_out by `mode`)
    /// - lecun_normal: N(0, 1/fan_in); normal: N(mean, std²); uniform: U(a, b); constant; zeros
    public func fill(_ tensor: Tensor, fanIn: Int, fanOut: Int, rng: inout Xoshiro256) {
        let p = tensor.pointer
        let n = tensor.count
        func normal(_ mean: Double, _ std: Double, _ rng: inout Xoshiro256) {
            for i in 0..<n { p[i] = Float(mean + std * rng.normal()) }
        }
        func uniform(_ a: Float, _ b: Float, _ rng: inout Xoshiro256) {
            for i in 0..<n { p[i] = rng.uniform(a, b) }
        }
        switch self {
        case .zeros: tensor.fill(0)
        case .constant(let v): tensor.fill(v)
        case let .normal(mean, std): normal(Double(mean), Double(std), &rng)
        case let .uniform(a, b): uniform(a, b, &rng)
        case .xavierUniform(let gain):
            let a = Float(Double(gain) * (6.0 / Double(fanIn + fanOut)).squareRoot())
            uniform(-a, a, &rng)
        case .xavierNormal(let gain):
            normal(0, Double(gain) * (2.0 / Double(fanIn + fanOut)).squareRoot(), &rng)
        case .heUniform(let useFanOut):
            let b = Float((6.0 / Double(useFanOut ? fanOut : fanIn)).squareRoot())
            uniform(-b, b, &rng)
        case .heNormal(let useFanOut):
            normal(0, (2.0 / Double(useFanOut ? fanOut : fanIn)).squareRoot(), &rng)
        case .lecunNormal:
            normal(0, (1.0 / Double(fanIn)).squareRoot(), &rng)
        }
    }
}
