import NNCore
import NNTestSupport
import NNTrain
import Testing

// GEMMTrace (`nntrain bench`'s record and replay of a step's products), through NNCore's
// GEMMObserver hook.

/// `GEMMTrace.record` keeps the products of the recording thread and of the pool tasks it hands
/// out (a convolution's sample blocks), not those other threads compute meanwhile.
@Test func gemmTraceRecordsOnlyItsOwnThreadAndItsPoolTasks() async {
    Parallel.setThreads(max(2, Parallel.threads))
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 64)
    scratch.initialize(repeating: 0.5, count: 64)
    defer { scratch.deallocate() }
    let other = _Concurrency.Task.detached {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 27)
        buffer.initialize(repeating: 1, count: 27)
        defer { buffer.deallocate() }
        for _ in 0..<100_000 { gemm(m: 3, n: 3, k: 3, buffer, buffer, buffer + 18) }
    }
    let calls = GEMMTrace.record {
        for _ in 0..<2000 {
            Parallel.forEach(parts: 4, SmallProducts(p: scratch))
        }
    }
    await other.value
    #expect(calls.count == 8000)
    #expect(calls.allSatisfy { $0.m == 2 && $0.n == 2 && $0.k == 2 })
}

/// Part i: one 2×2·2×2 product into its own 4 floats.
struct SmallProducts: ParallelLoop {
    let p: UnsafeMutablePointer<Float>
    func run(_ range: Range<Int>) { for i in range { gemm(m: 2, n: 2, k: 2, p, p, p + 16 + 4 * i) } }
}

/// The bench's replay runs every traced product once, at 1 and 2 threads: runs of direct
/// products dealt out over the pool (a run shorter than the thread count included) and sgemm
/// products between them.
@Test func replayRunsEveryTracedProductOnce() {
    Parallel.setThreads(max(2, Parallel.threads))
    defer { setBLASThreads(1) }
    let calls: [GEMMTrace.Call] = [
        .init(transposeA: false, transposeB: false, m: 8, n: 20, k: 9, direct: true),
        .init(transposeA: false, transposeB: true, m: 5, n: 7, k: 3),
        .init(transposeA: true, transposeB: false, m: 12, n: 16, k: 4, direct: true),
        .init(transposeA: false, transposeB: false, m: 3, n: 33, k: 2, direct: true),
        .init(transposeA: false, transposeB: false, m: 6, n: 6, k: 6, direct: true),
        .init(transposeA: true, transposeB: false, m: 4, n: 4, k: 4),
        .init(transposeA: false, transposeB: false, m: 9, n: 17, k: 1, direct: true),
    ]
    func key(_ c: GEMMTrace.Call) -> String { "\(c.transposeA)\(c.transposeB)\(c.m)x\(c.n)x\(c.k)\(c.direct)" }
    for threads in [1, 2] {
        setBLASThreads(threads)
        let replayer = GEMMTrace.Replayer(calls)
        let replayed = GEMMTrace.record { replayer.run() }
        #expect(replayed.map(key).sorted() == calls.map(key).sorted(), "threads \(threads)")
    }
}

/// A traced `gemm` keeps its matrices, alpha and beta, and the replay runs it on them (the
/// bench's limit is the step's own products on the step's own memory): the replay of
/// C = 2·A·B + 0·C rewrites C with the same bits, and of C = A·B + 1·C adds the product again.
@Test func replayRunsTracedProductsOnTheirOwnMatrices() {
    let a = randomTensor([5, 7], seed: 61), b = randomTensor([7, 6], seed: 62)
    let c = Tensor(zeros: [5, 6]), d = Tensor(shape: [5, 6], scalars: [Float](repeating: 1, count: 30))
    let calls = GEMMTrace.record {
        gemm(m: 5, n: 6, k: 7, alpha: 2, a.pointer, b.pointer, c.pointer)
        gemm(m: 5, n: 6, k: 7, a.pointer, b.pointer, beta: 1, d.pointer)
    }
    #expect(calls.count == 2 && calls.allSatisfy { $0.operands != nil })
    #expect(calls[0].operands?.alpha == 2 && calls[0].operands?.beta == 0 && calls[1].operands?.beta == 1)
    let first = c.scalars, once = d.scalars
    c.pointer.update(repeating: .nan, count: 30)
    let replayer = GEMMTrace.Replayer(calls)
    withExtendedLifetime((a, b, c, d)) { replayer.run() }
    #expect(c.scalars.map(\.bitPattern) == first.map(\.bitPattern))
    let product = matmul(a, b).scalars
    #expect(zip(d.scalars, zip(once, product)).allSatisfy { abs($0 - ($1.0 + $1.1)) <= 1e-5 })
}
