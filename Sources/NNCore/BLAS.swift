// The only file that calls BLAS/LAPACK. OpenBLAS on Linux, Accelerate on macOS.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CSupport
import Synchronization

/// C = alpha · op(A) · op(B) + beta · C, all row-major; op transposes when the flag is set.
///
/// `m × k` is the shape of op(A), `k × n` of op(B), `m × n` of C. Leading dimensions follow from
/// the flags, so callers never pass them and never materialise a transpose.
@inline(__always)
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, parts: Int? = nil
) {
    let lda = transposeA ? m : k
    let ldb = transposeB ? k : n
    let ta = transposeA ? CblasTrans : CblasNoTrans, tb = transposeB ? CblasTrans : CblasNoTrans
    if nn_thread_tag() == GEMMObserver.tag {
        GEMMObserver.report(.init(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                  operands: .init(a: a, b: b, c: c, alpha: alpha, beta: beta)))
    }
    let threads = parts ?? gemmThreads
    // Large products split over the worker pool along the larger side of C, each part a
    // single-threaded sgemm: every element keeps its order of summation over k, and no BLAS
    // worker spins while the step's element-wise code runs.
    if threads > 1 && (parts != nil || (m * n * k >= gemmSplitThreshold && max(m, n) >= 32)) {
        let splitRows = m >= n
        let side = splitRows ? m : n
        let per = ((side + threads - 1) / threads + 15) / 16 * 16
        Parallel.forEach(parts: (side + per - 1) / per,
                         GEMMSplit(ta: ta, tb: tb, transposeA: transposeA, transposeB: transposeB, splitRows: splitRows, m: m, n: n,
                                   k: k, lda: lda, ldb: ldb, side: side, per: per, alpha: alpha, beta: beta, a: a, b: b, c: c))
        return
    }
    cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(n))
}

/// C = alpha · op(A) · op(B) + beta · C on one thread with explicit leading dimensions (row
/// strides), for products on strided rows: one time step of a `[batch, steps, features]` buffer
/// (a recurrent layer's step, rows `lda = steps · features` apart). Never split over the pool.
@inline(__always)
public func gemmStrided(
    transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if nn_thread_tag() == GEMMObserver.tag {
        GEMMObserver.report(.init(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, direct: true))
    }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// C = op(A)·B, or C += op(A)·B when `accumulate`, for one thread's small products (a
/// convolution's chunks): nntrain's own AVX-512 kernel (Gemm.c: no packing, no zero fill; each
/// element summed in order of k with fused multiply-adds) when `kernel` and the CPU has AVX-512,
/// else one single-threaded sgemm. B is never transposed (its rows are the kernel's vectors).
@inline(__always)
public func gemmDirect(
    transposeA: Bool = false, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    accumulate: Bool = false, _ c: UnsafeMutablePointer<Float>, kernel: Bool = true
) {
    if nn_thread_tag() == GEMMObserver.tag {
        GEMMObserver.report(.init(transposeA: transposeA, transposeB: false, m: m, n: n, k: k, direct: true))
    }
    if kernel && nn_gemm_direct(m, n, k, a, transposeA ? 1 : k, transposeA ? m : 1, b, n, c, n, accumulate ? 1 : 0) != 0 {
        return
    }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                a, Int32(transposeA ? m : k), b, Int32(n), accumulate ? 1 : 0, c, Int32(n))
}

/// C = op(A)·B, or C += op(A)·B when `accumulate`, with explicit row strides (A is `[m, k]`, or
/// `[k, m]` read transposed, at row stride `lda`), on nntrain's own AVX-512
/// kernel (each element summed in order of k); false, computing nothing, on CPUs without it
/// (`DirectGEMM.isAvailable`). One thread's product: a recurrent layer's step.
@inline(__always)
@discardableResult
public func gemmDirectStrided(transposeA: Bool = false, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
                              _ b: UnsafePointer<Float>, ldb: Int, accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
    if nn_thread_tag() == GEMMObserver.tag {
        GEMMObserver.report(.init(transposeA: transposeA, transposeB: false, m: m, n: n, k: k, direct: true))
    }
    return nn_gemm_direct(m, n, k, a, transposeA ? 1 : lda, transposeA ? lda : 1, b, ldb, c, ldc, accumulate ? 1 : 0) != 0
}

/// Whether `gemmDirect` can run nntrain's own kernel on this CPU (AVX-512).
public enum DirectGEMM {
    public static let isAvailable = nn_gemm_direct_available() != 0

    /// Floats of W `[n, k]` packed for `packedProduct`: panels of 64 columns of Wᵀ.
    @inline(__always)
    public static func packedSize(n: Int, k: Int) -> Int { nn_gemm_packed_size(n, k) }

    /// Packs W `[n, k]` (row-major) as Wᵀ in panels of 64 columns (zeros past n).
    @inline(__always)
    public static func pack(_ w: UnsafePointer<Float>, n: Int, k: Int, into packed: UnsafeMutablePointer<Float>) {
        nn_gemm_pack(w, n, k, packed)
    }

    /// C `[m, n]` = relu?(A·Wᵀ + bias) with A `[m, k]` and W packed by `pack`: each element 0, then
    /// the terms in order of k by fused multiply-adds, then + bias (nil: none), then ReLU as
    /// `0 >= v ? 0 : v`. Does nothing without AVX-512 (`isAvailable`).
    @inline(__always)
    public static func packedProduct(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                                     _ c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, relu: Bool) {
        _ = nn_gemm_packed(m, n, k, a, lda, packed, c, ldc, bias, relu ? 1 : 0)
    }
}

/// `dst[j·ldd + i] = src[i·lds + j]` for a `rows × cols` matrix (16×16 blocks in registers on AVX-512).
@inline(__always)
public func transpose(_ src: UnsafePointer<Float>, rows: Int, cols: Int, _ dst: UnsafeMutablePointer<Float>) {
    nn_transpose(src, rows, cols, cols, dst, rows)
}

/// One product as `gemm` or `gemmDirect` was asked for, as a `GEMMObserver` sees it.
public struct GEMMCall: Sendable, Equatable {
    public var transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int
    /// Computed by `gemmDirect` (one thread's product) rather than `gemm`.
    public var direct: Bool
    /// The matrices and scalars a `gemm` call ran on, so that a replay runs the same product
    /// on the same memory (nil for direct calls and for calls built by hand).
    public var operands: Operands?
    public var multiplyAdds: Int { m * n * k }
    public init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, direct: Bool = false, operands: Operands? = nil) {
        self.transposeA = transposeA; self.transposeB = transposeB
        self.m = m; self.n = n; self.k = k; self.direct = direct; self.operands = operands
    }

    /// A product's matrices, as addresses (valid while the buffers they name live: a replay
    /// must keep the recorded model alive) and alpha, beta.
    public struct Operands: Sendable, Equatable {
        public var a: UInt, b: UInt, c: UInt
        public var alpha: Float, beta: Float
        public init(a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
            self.a = UInt(bitPattern: a); self.b = UInt(bitPattern: b); self.c = UInt(bitPattern: c)
            self.alpha = alpha; self.beta = beta
        }
    }
}

/// The hook through which a caller sees the products a piece of code computes (NNTrain's
/// `GEMMTrace` records a training step's for `nntrain bench`). Nobody observing, a product
/// pays one thread-local read: `gemm` and `gemmDirect` report only on a thread `observe`
/// tagged, or in a pool task such a thread handed out.
public enum GEMMObserver {
    /// The thread tag (CSupport) of the observing thread and of the pool tasks it hands out, so
    /// that products other threads compute meanwhile are not reported.
    static let tag: Int32 = 0x7E57
    static let observer = Mutex<Observer?>(nil)
    static let observing = Mutex<Void>(())

    /// The callback in a class: a closure kept in the generic `Mutex` would come back out
    /// through a reabstraction thunk, allocated at every product.
    final class Observer: Sendable {
        let observe: @Sendable (GEMMCall) -> Void
        init(_ observe: @escaping @Sendable (GEMMCall) -> Void) { self.observe = observe }
    }

    /// Runs `body`, reporting to `observe` every product it computes on this thread and in the
    /// pool tasks it starts (from several threads at once: those run in parallel). Observations
    /// on other threads wait for this one to end: `body` must not observe.
    public static func observe(_ observe: @escaping @Sendable (GEMMCall) -> Void, during body: () -> Void) {
        observing.withLock { _ in
            observer.withLock { $0 = Observer(observe) }
            let previous = nn_thread_tag()
            nn_set_thread_tag(tag)
            body()
            nn_set_thread_tag(previous)
            observer.withLock { $0 = nil }
        }
    }

    @inline(never)
    static func report(_ call: GEMMCall) {
        observer.withLock { $0 }?.observe(call)
    }
}

/// One product split over the pool (`gemm`): part i computes the rows (or columns) of C from
/// i·per, each part one single-threaded sgemm.
struct GEMMSplit: ParallelLoop {
    let ta: CBLAS_TRANSPOSE, tb: CBLAS_TRANSPOSE
    let transposeA: Bool, transposeB: Bool, splitRows: Bool
    let m: Int, n: Int, k: Int, lda: Int, ldb: Int, side: Int, per: Int
    let alpha: Float, beta: Float
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>

    func run(_ parts: Range<Int>) {
        for part in parts {
            let lo = part * per
            let len = min(side, lo + per) - lo
            if splitRows {
                cblas_sgemm(CblasRowMajor, ta, tb, Int32(len), Int32(n), Int32(k), alpha,
                            a + (transposeA ? lo : lo * lda), Int32(lda), b, Int32(ldb), beta, c + lo * n, Int32(n))
            } else {
                cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(len), Int32(k), alpha,
                            a, Int32(lda), b + (transposeB ? lo * ldb : lo), Int32(ldb), beta, c + lo, Int32(n))
            }
        }
    }
}

/// How many parts a large product splits into (`setBLASThreads`).
nonisolated(unsafe) public private(set) var gemmThreads = 1

/// Products with fewer multiply-adds run on one thread (splitting costs a few microseconds).
public let gemmSplitThreshold = 1 << 20

/// Tensor form of `gemm` for tests and non-hot code.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false, parts: Int? = nil) -> Tensor {
    precondition(a.shape.rank == 2 && b.shape.rank == 2, "matmul: rank-2 tensors only")
    let m = transposeA ? a.shape[1] : a.shape[0]
    let k = transposeA ? a.shape[0] : a.shape[1]
    let kb = transposeB ? b.shape[1] : b.shape[0]
    let n = transposeB ? b.shape[0] : b.shape[1]
    precondition(k == kb, "matmul: inner dimensions \(k) and \(kb) differ")
    let c = Tensor(zeros: [m, n])
    gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a.pointer, b.pointer, c.pointer, parts: parts)
    return c
}

/// Sets the threads of the matrix products and the parallel loops: nntrain's worker pool gets
/// `n`, OpenBLAS itself one (the pool splits each product; see `gemm`). Accelerate chooses its own.
public func setBLASThreads(_ n: Int) {
    gemmThreads = max(1, min(n, Parallel.maxThreads))
    Parallel.setThreads(n)
    #if canImport(Accelerate)
    #else
    openblas_set_num_threads(1)
    #endif
}

/// Which BLAS this binary uses, for logs and benchmark tables.
public var blasDescription: String {
    #if canImport(Accelerate)
    return "Accelerate"
    #else
    if let c = openblas_get_config() { return "OpenBLAS " + String(cString: c) }
    return "OpenBLAS"
    #endif
}

/// Eigen-decomposition of a symmetric `n × n` matrix (LAPACK `ssyevd`).
///
/// Returns eigenvalues in ascending order and the eigenvectors as the rows of an `n × n`
/// row-major matrix (row i belongs to eigenvalue i). `nil` when LAPACK reports failure.
public func symmetricEigen(_ matrix: [Float], n: Int) -> (values: [Float], vectors: [Float])? {
    precondition(matrix.count == n * n, "symmetricEigen: \(matrix.count) elements for n = \(n)")
    // Row-major symmetric A is its own transpose, so LAPACK's column-major view is the same
    // matrix; the eigenvectors come back as columns in column-major, i.e. as rows here.
    var a = matrix
    var w = [Float](repeating: 0, count: n)
    var nn = Int32(n), lda = Int32(max(1, n)), info: Int32 = 0
    var lwork: Int32 = -1, liwork: Int32 = -1
    var workQuery: Float = 0
    var iworkQuery: Int32 = 0
    var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
    ssyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info)
    guard info == 0 else { return nil }
    lwork = Int32(workQuery)
    liwork = iworkQuery
    var work = [Float](repeating: 0, count: Int(lwork))
    var iwork = [Int32](repeating: 0, count: Int(liwork))
    ssyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
    guard info == 0 else { return nil }
    return (w, a)
}

/// The Q factor of the QR decomposition of a row-major `rows × cols` matrix with
/// rows ≥ cols (LAPACK `sgeqrf` + `sorgqr`), its columns' signs fixed so R has a positive
/// diagonal (as `torch.nn.init.orthogonal_`). Returns a row-major `rows × cols` matrix with
/// orthonormal columns, or nil when LAPACK fails.
public func orthonormalColumns(_ a: [Float], rows m: Int, cols n: Int) -> [Float]? {
    precondition(m >= n && a.count == m * n, "orthonormalColumns: need rows >= cols and rows·cols values")
    var col = [Float](repeating: 0, count: m * n)  // column-major copy
    for i in 0..<m { for j in 0..<n { col[i + j * m] = a[i * n + j] } }
    var mm = Int32(m), nn = Int32(n), kk = Int32(n), lda = Int32(m), info: Int32 = 0
    var tau = [Float](repeating: 0, count: n)
    var query: Float = 0
    var lwork: Int32 = -1
    sgeqrf_(&mm, &nn, &col, &lda, &tau, &query, &lwork, &info)
    guard info == 0 else { return nil }
    lwork = max(1, Int32(query))
    var work = [Float](repeating: 0, count: Int(lwork))
    sgeqrf_(&mm, &nn, &col, &lda, &tau, &work, &lwork, &info)
    guard info == 0 else { return nil }
    let signs: [Float] = (0..<n).map { col[$0 + $0 * m] < 0 ? -1 : 1 }
    lwork = -1
    sorgqr_(&mm, &nn, &kk, &col, &lda, &tau, &query, &lwork, &info)
    guard info == 0 else { return nil }
    lwork = max(1, Int32(query))
    work = [Float](repeating: 0, count: Int(lwork))
    sorgqr_(&mm, &nn, &kk, &col, &lda, &tau, &work, &lwork, &info)
    guard info == 0 else { return nil }
    var q = [Float](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n { q[i * n + j] = col[i + j * m] * signs[j] } }
    return q
}
