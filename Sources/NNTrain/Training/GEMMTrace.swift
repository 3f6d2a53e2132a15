import NNCore
import Synchronization

/// Records the shapes of the products a piece of code computes (`nntrain bench` replays a
/// training step's products alone to measure its GEMM-bound limit), through NNCore's
/// `GEMMObserver`, and replays them.
public enum GEMMTrace {
    public typealias Call = GEMMCall

    /// The calls `body` makes on this thread and in the pool tasks it starts (those made in
    /// parallel in the order they started). Recordings on other threads wait for this one (they
    /// would share the observer): `body` must not record.
    public static func record(_ body: () -> Void) -> [Call] {
        // Worker threads record too (a convolution's sample blocks), so the list is locked.
        let list = CallList()
        GEMMObserver.observe({ call in list.calls.withLock { $0.append(call) } }, during: body)
        return list.calls.withLock { $0 }
    }

    final class CallList: Sendable {
        let calls = Mutex<[Call]>([])
    }

    /// Runs `calls` `repeats` times (see `Replayer`); returns the seconds per repeat.
    public static func replay(_ calls: [Call], repeats: Int) -> Double {
        let replayer = Replayer(calls)
        replayer.run()
        let start = Clock.now()
        for _ in 0..<repeats { replayer.run() }
        return (Clock.now() - start) / Double(max(1, repeats))
    }

    /// A list of products and the matrices to run them on, again and again.
    ///
    /// `gemm` products run as in a step (split over the pool when large), on the very matrices
    /// they were recorded with: the replay overwrites their outputs (a benchmark's activations
    /// and gradients, recomputed by its next step), and its cache behaviour is the step's — one
    /// scratch matrix shared by every product would stay in cache where the step's many do not.
    /// Calls without operands, and each run of consecutive `gemmDirect` products (a convolution's
    /// sample blocks on per-thread scratch in the step), run on scratch matrices instead, the
    /// direct runs dealt out in contiguous shares to the pool's threads, each with its own output.
    public final class Replayer {
        let calls: [Call]
        let threads: Int
        let a: TensorStorage, b: TensorStorage, c: [TensorStorage]
        let outputs: [UnsafeMutablePointer<Float>]
        /// Runs of direct calls: [start, end) in `calls`.
        let runs: [Range<Int>]

        public init(_ calls: [Call]) {
            self.calls = calls
            let size = calls.filter { $0.operands == nil }.map { max($0.m * $0.k, $0.k * $0.n, $0.m * $0.n) }.max() ?? 0
            threads = max(1, gemmThreads)
            a = TensorStorage(capacity: size)
            b = TensorStorage(capacity: size)
            c = (0..<threads).map { _ in TensorStorage(capacity: size) }
            outputs = c.map { $0.base }
            for i in 0..<size { a.base[i] = Float(i % 7) * 0.01; b.base[i] = Float(i % 5) * 0.01 }
            var runs: [Range<Int>] = []
            var i = 0
            while i < calls.count {
                var j = i
                while j < calls.count && calls[j].direct { j += 1 }
                if j > i { runs.append(i..<j); i = j } else { i += 1 }
            }
            self.runs = runs
        }

        /// Runs every product once; returns the seconds it took.
        @discardableResult
        public func run() -> Double {
            let start = Clock.now()
            var i = 0, r = 0
            while i < calls.count {
                if r < runs.count && runs[r].lowerBound == i {
                    let run = runs[r]
                    calls.withUnsafeBufferPointer { list in
                        let shares = min(threads, run.count)
                        Parallel.forEach(parts: shares, DirectReplay(calls: list.baseAddress! + run.lowerBound, count: run.count,
                                                                     shares: shares, a: a.base, b: b.base, c: outputs))
                    }
                    i = run.upperBound
                    r += 1
                    continue
                }
                let call = calls[i]
                if let o = call.operands, let pa = UnsafePointer<Float>(bitPattern: o.a),
                   let pb = UnsafePointer<Float>(bitPattern: o.b), let pc = UnsafeMutablePointer<Float>(bitPattern: o.c) {
                    gemm(transposeA: call.transposeA, transposeB: call.transposeB, m: call.m, n: call.n, k: call.k,
                         alpha: o.alpha, pa, pb, beta: o.beta, pc)
                } else {
                    gemm(transposeA: call.transposeA, transposeB: call.transposeB, m: call.m, n: call.n, k: call.k,
                         a.base, b.base, c[0].base)
                }
                i += 1
            }
            return Clock.now() - start
        }
    }
}

/// A run of direct products replayed in shares over the pool (`GEMMTrace.Replayer`): share s
/// computes its contiguous part of the run into its own output.
struct DirectReplay: ParallelLoop {
    var calls: UnsafePointer<GEMMCall>, count: Int, shares: Int
    var a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: [UnsafeMutablePointer<Float>]

    func run(_ range: Range<Int>) {
        for share in range {
            let lo = share * count / shares, hi = (share + 1) * count / shares
            for q in lo..<hi {
                let call = calls[q]
                gemmDirect(transposeA: call.transposeA, m: call.m, n: call.n, k: call.k, a, b, c[share])
            }
        }
    }
}
