import CSupport

/// Data-parallel loops on nntrain's worker pool (CSupport): the calling thread and
/// `threads − 1` workers that spin briefly between jobs and then sleep. Matrix products split
/// across it too (`gemm`), with BLAS itself single-threaded, so nothing oversubscribes the cores.
public enum Parallel {
    /// Threads in the pool, the caller included.
    public static var threads: Int { Int(nn_pool_threads()) }

    /// Sets the pool's size (1: everything runs on the calling thread).
    public static func setThreads(_ n: Int) { nn_pool_set_threads(Int32(max(1, min(n, 64)))) }

    /// Calls `body(i)` for every i in 0..<count, spread over the pool; returns when all are done.
    /// `body` may call `forEach` itself (the inner loop then runs on the calling thread).
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threads == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            withUnsafePointer(to: escaping) { p in
                nn_pool_run({ ctx, i in
                    ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i))
                }, UnsafeMutableRawPointer(mutating: p), count)
            }
        }
    }

    /// Splits 0..<count into at most `threads` ranges (boundaries multiples of `align`) and runs
    /// `body` on each in parallel when `count ≥ minimum`; otherwise runs it once on 0..<count.
    public static func chunks(_ count: Int, minimum: Int = 32_768, align: Int = 16, _ body: (Range<Int>) -> Void) {
        let t = threads
        if t == 1 || count < minimum {
            body(0..<count)
            return
        }
        let per = ((count + t - 1) / t + align - 1) / align * align
        let parts = (count + per - 1) / per
        withoutActuallyEscaping(body) { escaping in
            var context = ChunkContext(body: escaping, per: per, count: count)
            withUnsafeMutablePointer(to: &context) { p in
                nn_pool_run({ ctx, i in
                    let c = ctx!.assumingMemoryBound(to: ChunkContext.self)
                    let lo = Int(i) * c.pointee.per
                    c.pointee.body(lo..<min(c.pointee.count, lo + c.pointee.per))
                }, UnsafeMutableRawPointer(p), parts)
            }
        }
    }

    private struct ChunkContext {
        var body: (Range<Int>) -> Void
        var per: Int
        var count: Int
    }
}

extension Parallel {
    /// A parallel loop without closures, for the per-step hot paths: `task(context, i)` for every
    /// i in 0..<count, `context` pointing at the caller's own state (a struct on its stack).
    /// Nothing is allocated (a closure turned escaping for the C pool is boxed on every call).
    @inlinable
    public static func run(_ count: Int, context: UnsafeMutableRawPointer,
                           _ task: @convention(c) (UnsafeMutableRawPointer?, Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threads == 1 {
            for i in 0..<count { task(context, i) }
            return
        }
        nn_pool_run(task, context, count)
    }

    /// The ranges `chunks` would use for `count` elements: how many, and the size of each but the last.
    @inlinable
    public static func split(_ count: Int, minimum: Int = 32_768, align: Int = 16) -> (parts: Int, per: Int) {
        let t = threads
        if t == 1 || count < minimum { return (1, max(count, 1)) }
        let per = ((count + t - 1) / t + align - 1) / align * align
        return ((count + per - 1) / per, per)
    }
}
