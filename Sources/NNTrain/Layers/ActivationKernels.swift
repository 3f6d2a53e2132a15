import NNCore


/// Element-wise activation kernels on raw buffers. Where the derivative can be written through
/// the output y it is (relu' = [y > 0], sigmoid' = y(1 − y), tanh' = 1 − y², leaky' = y > 0 ? 1 : α,
/// elu' = y > 0 ? 1 : y + α), so backward needs no copy of the input; softplus, GELU and SiLU
/// take the input x (`Activation.needsInput`).
enum ActivationKernels {
    @inline(__always)
    static func value(_ f: Activation, _ x: Float) -> Float {
        switch f {
        case .linear: return x
        case .relu: return max(x, 0)
        case .sigmoid: return sigmoid(x)
        case .tanh: return tanhf(x)
        case .leakyReLU(let a): return x > 0 ? x : a * x
        case .elu(let a): return x > 0 ? x : a * (expf(x) - 1)
        case let .softplus(beta, threshold):
            return beta * x > threshold ? x : log1pf(expf(beta * x)) / beta
        case .gelu(let approx):
            if approx {
                let k: Float = 0.7978845608028654  // √(2/π)
                return 0.5 * x * (1 + tanhf(k * (x + 0.044715 * x * x * x)))
            }
            return 0.5 * x * (1 + erff(x * 0.7071067811865476))
        case .silu: return x * sigmoid(x)
        }
    }

    /// f'(x) given x and y = f(x).
    @inline(__always)
    static func derivative(_ f: Activation, x: Float, y: Float) -> Float {
        switch f {
        case .linear: return 1
        case .relu: return y > 0 ? 1 : 0
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .leakyReLU(let a): return y > 0 ? 1 : a
        case .elu(let a): return y > 0 ? 1 : y + a
        case let .softplus(beta, threshold): return beta * x > threshold ? 1 : sigmoid(beta * x)
        case .gelu(let approx):
            if approx {
                let k: Float = 0.7978845608028654
                let inner = k * (x + 0.044715 * x * x * x)
                let t = tanhf(inner)
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
            }
            let cdf = 0.5 * (1 + erff(x * 0.7071067811865476))
            let pdf = expf(-0.5 * x * x) * 0.3989422804014327  // 1/√(2π)
            return cdf + x * pdf
        case .silu:
            let s = sigmoid(x)
            return s * (1 + x * (1 - s))
        }
    }

    /// y[r, c] = f(y[r, c] + bias[c]) for a `[rows, cols]` block (bias may be nil). When `pre`
    /// is given, the pre-activation y + bias is kept there (for activations that need it).
    @inline(__always)
    static func biasActivate(_ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, rows: Int, cols: Int,
                             _ f: Activation, pre: UnsafeMutablePointer<Float>? = nil) {
        // The linear and ReLU passes over the whole matrix in C (AVX-512 where the CPU has it):
        // the same bits as y + b and max(·, 0) (tested).
        switch (f, pre) {
        case (.linear, nil): if let bias { Kernels.biasActivate(y, bias: bias, rows: rows, cols: cols, relu: false) }; return
        case (.relu, nil): Kernels.biasActivate(y, bias: bias, rows: rows, cols: cols, relu: true); return
        default: break
        }
        for r in 0..<rows {
            let row = y + r * cols
            switch (f, bias, pre) {
            case (.tanh, let b?, nil): for c in 0..<cols { row[c] = tanhf(row[c] + b[c]) }
            default:
                let p = pre.map { $0 + r * cols }
                for c in 0..<cols {
                    let z = row[c] + (bias?[c] ?? 0)
                    p?[c] = z
                    row[c] = value(f, z)
                }
            }
        }
    }

    /// y = f(x); `y` may alias `x`.
    static func apply(_ f: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        switch f {
        case .linear: if UnsafePointer(y) != x { y.update(from: x, count: n) }
        case .relu: Kernels.relu(x, y, count: n)
        default: for i in 0..<n { y[i] = value(f, x[i]) }
        }
    }

    /// dx = dy · f'(x); `dx` may alias `dy`; `x` may be nil unless `f.needsInput`.
    @inline(__always)
    static func backward(_ f: Activation, x: UnsafePointer<Float>?, y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>, count n: Int) {
        switch f {
        case .linear: if UnsafePointer(dx) != dy { dx.update(from: dy, count: n) }
        case .relu: Kernels.reluBackward(y: y, dy: dy, dx: dx, count: n)
        case .sigmoid: for i in 0..<n { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        case .tanh: for i in 0..<n { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        default:
            if let x {
                for i in 0..<n { dx[i] = dy[i] * derivative(f, x: x[i], y: y[i]) }
            } else {
                precondition(!f.needsInput, "\(f): backward needs the input")
                for i in 0..<n { dx[i] = dy[i] * derivative(f, x: 0, y: y[i]) }
            }
        }
    }

    /// 1/(1 + e^(−x)), written so neither branch overflows.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }
}
