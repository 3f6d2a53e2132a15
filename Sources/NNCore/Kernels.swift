import CSupport
/// Hot element-wise kernels written with explicit SIMD vectors, for loops the compiler would
/// otherwise leave scalar (a scalar `squareRoot` keeps a libm fallback that blocks
/// vectorisation). Each has a scalar tail with the same formula.
public enum Kernels {
    public typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
    }

    /// One Adam step over `count` elements (torch.optim.Adam/AdamW):
    /// g' = g + l2·w; m = β₁m + (1−β₁)g'; v = β₂v + (1−β₂)g'²; (v̂ = max(v̂, v) if `vMax`);
    /// w = w·decay − stepSize · m / (√v · invSqrtBC2 + eps).
    @inline(__always)
    public static func adam(
        w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, count: Int,
        beta1: Float, beta2: Float, l2: Float, decay: Float, stepSize: Float, invSqrtBC2: Float, eps: Float
    ) {
        // The C kernel (AVX-512/AVX2/SSE2 by CPU) computes the same operations in the same order.
        nn_adam(w, g, m, v, vMax, count, beta1, beta2, l2, decay, stepSize, invSqrtBC2, eps)
    }

    /// y[r, c] = y[r, c] + bias[c] (bias may be nil: nothing), then max(·, 0) when `relu`, over a
    /// `[rows, cols]` block, in C (AVX-512 where the CPU has it): the same bits as the formula.
    @inline(__always)
    public static func biasActivate(_ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, rows: Int, cols: Int, relu: Bool) {
        nn_bias_activate(y, bias, rows, cols, relu ? 1 : 0)
    }

    /// Dropout over elements [start, end): out = x·mask with mask = `scale` where element i's
    /// 24-bit draw (the counter-based stream `key` at `counter + i/2`) is ≥ `threshold24`, else 0.
    @inline(__always)
    public static func dropoutForward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>,
                                      _ range: Range<Int>, threshold24: UInt32, scale: Float, key: UInt64, counter: UInt64) {
        nn_dropout_forward(x, out, mask, range.lowerBound, range.upperBound, threshold24, scale, key, counter)
    }

    /// The Swift SIMD form of `adam` (kept as the reference the C kernel is tested against).
    public static func adamReference(
        w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, count: Int,
        beta1: Float, beta2: Float, l2: Float, decay: Float, stepSize: Float, invSqrtBC2: Float, eps: Float
    ) {
        let b1 = V(repeating: beta1), b2 = V(repeating: beta2)
        let c1 = V(repeating: 1 - beta1), c2 = V(repeating: 1 - beta2)
        let l2v = V(repeating: l2), dv = V(repeating: decay), sv = V(repeating: stepSize)
        let iv = V(repeating: invSqrtBC2), ev = V(repeating: eps)
        var i = 0
        while i + 8 <= count {
            let wi = load(w, i)
            let gi = load(g, i) + l2v * wi
            let mi = b1 * load(m, i) + c1 * gi
            var vi = b2 * load(v, i) + c2 * gi * gi
            store(mi, m, i)
            store(vi, v, i)
            if let vMax {
                vi = pointwiseMax(load(vMax, i), vi)
                store(vi, vMax, i)
            }
            store(wi * dv - sv * mi / (vi.squareRoot() * iv + ev), w, i)
            i += 8
        }
        while i < count {
            let wi = w[i]
            let gi = g[i] + l2 * wi
            let mi = beta1 * m[i] + (1 - beta1) * gi
            var vi = beta2 * v[i] + (1 - beta2) * gi * gi
            m[i] = mi
            v[i] = vi
            if let vMax {
                vi = max(vMax[i], vi)
                vMax[i] = vi
            }
            w[i] = wi * decay - stepSize * mi / (vi.squareRoot() * invSqrtBC2 + eps)
            i += 1
        }
    }
}

extension Kernels {
    /// dx = y > 0 ? dy : 0 (ReLU backward through its output); `dx` may alias `dy`.
    @inline(__always)
    public static func reluBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        let zero = V(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let yv = UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
            let dv = UnsafeRawPointer(dy + i).loadUnaligned(as: V.self)
            store(dv.replacing(with: zero, where: yv .<= zero), dx, i)
            i += 8
        }
        while i < count { dx[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
    }

    /// y = max(x, 0); `y` may alias `x`.
    @inline(__always)
    public static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let zero = V(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            store(v.replacing(with: zero, where: v .< zero), y, i)
            i += 8
        }
        while i < count { y[i] = max(x[i], 0); i += 1 }
    }

    /// Σ x[0..<count] (eight partial sums).
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + 8 <= count {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            i += 8
        }
        var s = acc.sum()
        while i < count { s += x[i]; i += 1 }
        return s
    }
}
