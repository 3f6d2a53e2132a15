import CSupport

/// Rows of bytes gathered and converted to floats, for a block of rows (a batch's preprocessing,
/// split over the pool with `Parallel.forEach`): out[r, j] = Float(src[idx[r], j]) · a[j] + b[j]
/// (a multiply, then an add), each row `features` wide.
public struct ByteRowsAffine: ParallelLoop {
    let src: UnsafePointer<UInt8>, idx: UnsafePointer<Int32>, out: UnsafeMutablePointer<Float>
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>
    let features: Int

    public init(src: UnsafePointer<UInt8>, idx: UnsafePointer<Int32>, out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>,
                b: UnsafePointer<Float>, features: Int) {
        self.src = src
        self.idx = idx
        self.out = out
        self.a = a
        self.b = b
        self.features = features
    }

    public func run(_ rows: Range<Int>) {
        let f = features
        for r in rows {
            // The rows are scattered over the whole dataset (tens of MB): ask for the one 8 rows
            // ahead while this one converts (the fill took about a tenth less time for it).
            if r + 8 < rows.upperBound { nn_prefetch(src + Int(idx[r + 8]) * f, f) }
            // Float(byte) · a + b, in C for AVX-512 (the same bits).
            nn_bytes_affine(src + Int(idx[r]) * f, a, b, out + r * f, f)
        }
    }
}
