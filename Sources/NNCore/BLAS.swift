// The only file that calls BLAS/LAPACK. OpenBLAS on Linux, Accelerate on macOS.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// C = alpha · op(A) · op(B) + beta · C, all row-major; op transposes when the flag is set.
///
/// `m × k` is the shape of op(A), `k × n` of op(B), `m × n` of C. Leading dimensions follow from
/// the flags, so callers never pass them and never materialise a transpose.
@inline(__always)
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>
) {
    let lda = transposeA ? m : k
    let ldb = transposeB ? k : n
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(n))
}

/// Tensor form of `gemm` for tests and non-hot code.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.shape.rank == 2 && b.shape.rank == 2, "matmul: rank-2 tensors only")
    let m = transposeA ? a.shape[1] : a.shape[0]
    let k = transposeA ? a.shape[0] : a.shape[1]
    let kb = transposeB ? b.shape[1] : b.shape[0]
    let n = transposeB ? b.shape[0] : b.shape[1]
    precondition(k == kb, "matmul: inner dimensions \(k) and \(kb) differ")
    let c = Tensor(zeros: [m, n])
    gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a.pointer, b.pointer, c.pointer)
    return c
}

/// Sets the number of threads BLAS uses (OpenBLAS); Accelerate chooses its own.
public func setBLASThreads(_ n: Int) {
    #if canImport(Accelerate)
    _ = n
    #else
    openblas_set_num_threads(Int32(max(1, n)))
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
