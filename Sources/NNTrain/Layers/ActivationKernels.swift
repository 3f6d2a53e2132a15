import NNCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise activation kernels on raw buffers. Derivatives are taken from the output y,
/// so backward needs no copy of the pre-activation:
/// relu' = [y > 0], sigmoid' = y(1 − y), tanh' = 1 − y².
enum ActivationKernels {
    /// y[r, c] = f(y[r, c] + bias[c]) for a `[rows, cols]` block (bias may be nil).
    @inline(__always)
    static func biasActivate(_ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, rows: Int, cols: Int, _ f: Activation) {
        for r in 0..<rows {
            let row = y + r * cols
            switch (f, bias) {
            case (.linear, let b?): for c in 0..<cols { row[c] += b[c] }
            case (.linear, nil): return
            case (.relu, let b?): for c in 0..<cols { row[c] = max(row[c] + b[c], 0) }
            case (.relu, nil): for c in 0..<cols { row[c] = max(row[c], 0) }
            case (.sigmoid, let b?): for c in 0..<cols { row[c] = sigmoid(row[c] + b[c]) }
            case (.sigmoid, nil): for c in 0..<cols { row[c] = sigmoid(row[c]) }
            case (.tanh, let b?): for c in 0..<cols { row[c] = tanhf(row[c] + b[c]) }
            case (.tanh, nil): for c in 0..<cols { row[c] = tanhf(row[c]) }
            }
        }
    }

    /// y = f(x).
    static func apply(_ f: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        switch f {
        case .linear: if UnsafePointer(y) != x { y.update(from: x, count: n) }
        case .relu: for i in 0..<n { y[i] = max(x[i], 0) }
        case .sigmoid: for i in 0..<n { y[i] = sigmoid(x[i]) }
        case .tanh: for i in 0..<n { y[i] = tanhf(x[i]) }
        }
    }

    /// dx = dy · f'(x) expressed through y = f(x); `dx` may alias `dy`.
    @inline(__always)
    static func backward(_ f: Activation, y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count n: Int) {
        switch f {
        case .linear: if UnsafePointer(dx) != dy { dx.update(from: dy, count: n) }
        case .relu: for i in 0..<n { dx[i] = y[i] > 0 ? dy[i] : 0 }
        case .sigmoid: for i in 0..<n { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        case .tanh: for i in 0..<n { dx[i] = dy[i] * (1 - y[i] * y[i]) }
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
