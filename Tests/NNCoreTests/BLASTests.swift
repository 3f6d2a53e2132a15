import NNCore
import NNTestSupport
import Testing

/// Naive reference for C = op(A)·op(B).
func naiveMatmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s: Float = 0
            for p in 0..<k {
                let av = ta ? a[p * m + i] : a[i * k + p]
                let bv = tb ? b[j * k + p] : b[p * n + j]
                s += av * bv
            }
            c[i * n + j] = s
        }
    }
    return c
}

@Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
func gemmMatchesNaiveProduct(ta: Bool, tb: Bool) {
    let m = 5, n = 7, k = 3
    let a = randomTensor(ta ? [k, m] : [m, k], seed: 1)
    let b = randomTensor(tb ? [n, k] : [k, n], seed: 2)
    let c = matmul(a, b, transposeA: ta, transposeB: tb)
    let expected = naiveMatmul(a.scalars, b.scalars, m: m, n: n, k: k, ta: ta, tb: tb)
    #expect(c.shape == Shape(m, n))
    for (x, y) in zip(c.scalars, expected) { #expect(abs(x - y) < 1e-5) }
}

@Test func gemmAccumulatesWithBetaOne() {
    let a = Tensor(shape: [1, 2], scalars: [1, 2])
    let b = Tensor(shape: [2, 1], scalars: [3, 4])
    let c = Tensor(shape: [1, 1], scalars: [10])
    gemm(m: 1, n: 1, k: 2, a.pointer, b.pointer, beta: 1, c.pointer)
    #expect(c.scalars == [21])
}

@Test func symmetricEigenOfKnownMatrix() throws {
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2.
    let r = try #require(symmetricEigen([2, 1, 1, 2], n: 2))
    #expect(abs(r.values[0] - 1) < 1e-5 && abs(r.values[1] - 3) < 1e-5)
    let v = r.vectors
    #expect(abs(abs(v[2]) - 0.70710677) < 1e-5 && abs(v[2] - v[3]) < 1e-5)  // row 1 ∝ (1, 1)
    #expect(abs(v[0] + v[1]) < 1e-5)                                         // row 0 ∝ (1, −1)
}

@Test func tensorViewsShareStorage() {
    let s = TensorStorage(capacity: 10)
    let a = Tensor(viewing: s, offset: 2, shape: Shape(2, 2))
    a.fill(3)
    #expect(s.base[1] == 0 && s.base[2] == 3 && s.base[5] == 3 && s.base[6] == 0)
    let r = a.reshaped(Shape(4))
    #expect(r.scalars == [3, 3, 3, 3])
    #expect(Int(bitPattern: s.base) % 64 == 0)
}

@Test func batchBufferReusesViews() {
    let b = BatchBuffer(sampleShape: Shape(1, 3), maxBatch: 8)
    let v1 = b.view(batch: 8), v2 = b.view(batch: 5)
    #expect(v1.shape == Shape(8, 3) && v2.shape == Shape(5, 3))
    #expect(v1.pointer == v2.pointer)
}
