import NNCore

/// Weight normalisation (Salimans & Kingma 2016; torch.nn.utils.weight_norm, dim 0) shared by
/// dense and convolution layers: a weight of `rows` output units × `cols` fan-in is
/// W = g·v/‖v‖ row by row. v is the learned `weight_v`, g the learned `weight_g`.
struct WeightNorm {
    let rows: Int
    let cols: Int
    /// The effective W, recomputed before every forward.
    let effective: Tensor
    private var norms: [Float]

    init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        effective = Tensor(zeros: [rows, cols])
        norms = [Float](repeating: 1, count: rows)
    }

    /// The gains that make W = v at the start: g = ‖v_row‖.
    static func initialGains(_ v: Tensor, rows: Int, shape: [Int]) -> Tensor {
        let cols = v.count / rows
        let g = Tensor(zeros: shape)
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<cols { s += v.pointer[r * cols + j] * v.pointer[r * cols + j] }
            g.pointer[r] = s.squareRoot()
        }
        return g
    }

    /// W = g·v/‖v‖ into `effective`.
    mutating func compose(v: UnsafePointer<Float>, g: UnsafePointer<Float>) {
        let w = effective.pointer
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<cols { s += v[r * cols + j] * v[r * cols + j] }
            let norm = max(s.squareRoot(), 1e-12)
            norms[r] = norm
            let k = g[r] / norm
            for j in 0..<cols { w[r * cols + j] = k * v[r * cols + j] }
        }
    }

    /// Given dW in `dv`, turns it into dv = (g/‖v‖)(dW − dg·v/‖v‖) and writes dg = dW·v/‖v‖.
    func backward(v: UnsafePointer<Float>, g: UnsafePointer<Float>, dv: UnsafeMutablePointer<Float>, dg: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let norm = norms[r]
            var d: Float = 0
            for j in 0..<cols { d += dv[r * cols + j] * v[r * cols + j] }
            d /= norm
            dg[r] = d
            let k = g[r] / norm
            for j in 0..<cols { dv[r * cols + j] = k * (dv[r * cols + j] - d * v[r * cols + j] / norm) }
        }
    }
}
