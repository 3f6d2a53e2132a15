import CSupport
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

/// Products split over the worker pool agree with the single-threaded product (each element
/// keeps its order of summation over k; OpenBLAS may pick another micro-kernel for a small
/// part, so the last bits can differ) and are the same bit for bit from run to run.
@Test func gemmSplitOverThePoolMatchesOneThreadAndIsDeterministic() {
    for (m, n, k) in [(128, 512, 784), (784, 512, 128), (300, 37, 129), (33, 1000, 64), (128, 10, 256)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(ta ? [k, m] : [m, k], seed: 3)
            let b = randomTensor(tb ? [n, k] : [k, n], seed: 4)
            // Explicit parts: the test leaves the process-wide thread setting alone (tests run
            // concurrently); without workers the parts run one after the other.
            let one = matmul(a, b, transposeA: ta, transposeB: tb, parts: 1).scalars
            let three = matmul(a, b, transposeA: ta, transposeB: tb, parts: 3).scalars
            let again = matmul(a, b, transposeA: ta, transposeB: tb, parts: 3).scalars
            let maxDiff = zip(one, three).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
            #expect(maxDiff < 1e-5, "\(m)×\(n)×\(k) ta \(ta) tb \(tb): differs by up to \(maxDiff)")
            #expect(three.map(\.bitPattern) == again.map(\.bitPattern), "\(m)×\(n)×\(k): not deterministic")
        }
    }
}

/// The pool runs every index exactly once, also when several threads use it at once.
@Test func poolRunsEachIndexOnceUnderConcurrentCallers() async {
    Parallel.setThreads(max(2, Parallel.threads))
    await withTaskGroup(of: Bool.self) { group in
        for caller in 0..<4 {
            group.addTask {
                let n = 1000 + caller
                let hits = UnsafeMutablePointer<Int32>.allocate(capacity: n)
                hits.initialize(repeating: 0, count: n)
                defer { hits.deallocate() }
                for _ in 0..<50 {
                    Parallel.forEach(parts: n, CountHits(hits: hits))
                }
                return (0..<n).allSatisfy { hits[$0] == 50 }
            }
        }
        for await ok in group { #expect(ok) }
    }
}

struct CountHits: ParallelLoop {
    let hits: UnsafeMutablePointer<Int32>
    func run(_ range: Range<Int>) { for i in range { hits[i] += 1 } }
}

/// `Parallel.forEach` splits `count` into aligned parts that cover it exactly once, on one thread
/// below `minimum`.
@Test func forEachCoversTheRangeInAlignedParts() {
    Parallel.setThreads(2)
    defer { Parallel.setThreads(1) }
    for (count, minimum, align) in [(0, 1, 1), (1, 1, 1), (100, 1000, 16), (100, 2, 16), (1001, 2, 1), (70_000, 32_768, 16)] {
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
        hits.initialize(repeating: 0, count: max(count, 1))
        defer { hits.deallocate() }
        Parallel.forEach(count, minimum: minimum, align: align, CountHits(hits: hits))
        #expect((0..<count).allSatisfy { hits[$0] == 1 }, "count \(count) minimum \(minimum)")
        let (parts, per) = Parallel.split(count, minimum: minimum, align: align)
        #expect(count < minimum || count < 2 ? parts == 1 : (parts == 2 && per % align == 0 && per * parts >= count), "count \(count)")
    }
}

/// The C Adam kernel (AVX-512, AVX2 or SSE2, whichever the CPU has) gives the same bits as the
/// Swift reference formula, including the scalar tail and amsgrad.
@Test(arguments: [false, true])
func adamKernelMatchesTheReferenceBitForBit(amsgrad: Bool) {
    let n = 1003
    func buffers(_ seed: UInt64) -> [UnsafeMutablePointer<Float>] {
        var rng = Xoshiro256(seed: seed, stream: .initialization)
        return (0..<5).map { k in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            for i in 0..<n { p[i] = k == 3 || k == 4 ? abs(rng.uniform(0, 0.01)) : rng.uniform(-1, 1) }
            return p
        }
    }
    let a = buffers(9), b = buffers(9)
    defer { for p in a + b { p.deallocate() } }
    for step in 1...5 {
        let args = (beta1: Float(0.9), beta2: Float(0.999), l2: Float(step == 3 ? 1e-3 : 0), decay: Float(0.9999),
                    stepSize: Float(1e-3) / Float(step), invSqrtBC2: Float(1.7), eps: Float(1e-8))
        Kernels.adam(w: a[0], g: a[1], m: a[2], v: a[3], vMax: amsgrad ? a[4] : nil, count: n, beta1: args.beta1,
                     beta2: args.beta2, l2: args.l2, decay: args.decay, stepSize: args.stepSize, invSqrtBC2: args.invSqrtBC2, eps: args.eps)
        Kernels.adamReference(w: b[0], g: b[1], m: b[2], v: b[3], vMax: amsgrad ? b[4] : nil, count: n, beta1: args.beta1,
                              beta2: args.beta2, l2: args.l2, decay: args.decay, stepSize: args.stepSize, invSqrtBC2: args.invSqrtBC2, eps: args.eps)
    }
    for k in 0..<5 {
        let differing = (0..<n).filter { a[k][$0].bitPattern != b[k][$0].bitPattern }.count
        #expect(differing == 0, "buffer \(k): \(differing) of \(n) differ")
    }
}

/// nntrain's own product kernel (AVX-512; sgemm elsewhere): every tile shape (8, 6, 4, 2 and 1
/// rows; 1 to 4 vectors, partial last vectors), both orientations of A, with and without
/// accumulation, k in one block and in several. On AVX-512 each element is C (or 0) followed by
/// the fused multiply-adds in order of k, bit for bit.
@Test(arguments: [false, true])
func gemmDirectSumsInOrderOfK(transposeA: Bool) {
    let shapes = [(1, 1, 1), (3, 5, 0), (7, 17, 9), (8, 48, 64), (13, 33, 5), (64, 196, 288), (288, 64, 196), (9, 32, 300),
                  (12, 64, 3), (6, 80, 2), (30, 100, 7), (5, 20, 65), (16, 33, 129)]
    for (m, n, k) in shapes {
        for accumulate in [false, true] {
            let a = randomTensor([m * k + 1], seed: UInt64(m * 31 + k)), b = randomTensor([k * n + 1], seed: UInt64(n * 7 + k))
            let c = randomTensor([m * n], seed: 5)
            let before = c.scalars
            gemmDirect(transposeA: transposeA, m: m, n: n, k: k, a.pointer, b.pointer, accumulate: accumulate, c.pointer)
            var exact = true, close = true
            for i in 0..<m {
                for j in 0..<n {
                    var expected: Float = accumulate ? before[i * n + j] : 0
                    for p in 0..<k {
                        expected = expected.addingProduct(transposeA ? a.pointer[p * m + i] : a.pointer[i * k + p], b.pointer[p * n + j])
                    }
                    exact = exact && c.pointer[i * n + j] == expected
                    close = close && abs(c.pointer[i * n + j] - expected) <= 1e-4 * max(1, abs(expected))
                }
            }
            #expect(DirectGEMM.isAvailable ? exact : close, "m \(m) n \(n) k \(k) accumulate \(accumulate)")
        }
    }
}

/// Evaluation's packed kernel (AVX-512 CPUs): W [n, k] packed once, C = act(A·Wᵀ + bias) for
/// every panel width (1–4 vectors, partial ones, zero-padded panels) and row tile, with and
/// without bias and ReLU, at a row stride wider than n: each element is 0 followed by the fused
/// multiply-adds in order of k, + bias, then `0 >= v ? 0 : v` (NaN kept, −0 → +0), bit for bit;
/// the columns past n are never written.
@Test func packedGemmGivesTheEpiloguesBits() {
    guard DirectGEMM.isAvailable else { return }
    for (m, n, k) in [(1, 1, 1), (7, 10, 0), (13, 64, 9), (6, 70, 33), (25, 133, 65), (9, 256, 17), (1000, 16, 4)] {
        for (useBias, relu) in [(false, false), (true, false), (true, true), (false, true)] {
            let a = randomTensor([m * k + 1], seed: UInt64(m * 3 + k)), w = randomTensor([n * k + 1], seed: UInt64(n + 11 * k))
            if m * k > 2 { a.pointer[2] = .nan }
            let bias = randomTensor([n], seed: 9)
            if n > 1 { bias.pointer[1] = -0.0 }
            let packed = Tensor(zeros: [nn_gemm_packed_size(n, k) + 1])
            nn_gemm_pack(w.pointer, n, k, packed.pointer)
            let ldc = n + 3
            let c = Tensor(shape: [m * ldc], scalars: Array(repeating: 7, count: m * ldc))
            #expect(nn_gemm_packed(m, n, k, a.pointer, k, packed.pointer, c.pointer, ldc, useBias ? bias.pointer : nil, relu ? 1 : 0) == 1)
            var exact = true
            for i in 0..<m {
                for j in 0..<ldc {
                    let got = c.pointer[i * ldc + j]
                    guard j < n else { exact = exact && got == 7; continue }
                    var e: Float = 0
                    for p in 0..<k { e = e.addingProduct(a.pointer[i * k + p], w.pointer[j * k + p]) }
                    if useBias { e += bias.pointer[j] }
                    if relu { e = 0 >= e ? 0 : e }
                    exact = exact && (got.bitPattern == e.bitPattern || (got.isNaN && e.isNaN))
                }
            }
            #expect(exact, "m \(m) n \(n) k \(k) bias \(useBias) relu \(relu)")
        }
    }
}

@Test func transposeMovesEveryElement() {
    for (rows, cols) in [(1, 1), (16, 16), (64, 196), (33, 50), (7, 5), (17, 3136)] {
        let a = Tensor(shape: [rows, cols], scalars: (0..<rows * cols).map(Float.init))
        let t = Tensor(zeros: [cols, rows])
        transpose(a.pointer, rows: rows, cols: cols, t.pointer)
        var ok = true
        for i in 0..<rows { for j in 0..<cols { ok = ok && t.pointer[j * rows + i] == a.pointer[i * cols + j] } }
        #expect(ok, "\(rows) × \(cols)")
    }
}
