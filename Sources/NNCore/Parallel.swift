import CSupport

/// Data-parallel loops on nntrain's worker pool (CSupport): the calling thread and
/// `threads − 1` workers that spin briefly between jobs and then sleep. Matrix products split
/// across it too (`gemm`), with BLAS itself single-threaded, so nothing oversubscribes the cores.
/// Loops hand the pool a C function and a context on the caller's stack (`run`): a Swift
/// closure made escaping for the pool would be boxed on the heap at every call.
public enum Parallel {
    /// Threads in the pool, the caller included.
    public static var threads: Int { Int(nn_pool_threads()) }

    /// The most threads the pool runs (a larger request is clamped to it).
    public static let maxThreads = 64

    /// Sets the pool's size (1: everything runs on the calling thread).
    public static func setThreads(_ n: Int) { nn_pool_set_threads(Int32(max(1, min(n, maxThreads)))) }
}

extension Parallel {
    /// `task(context, i)` for every i in 0..<count over the pool, `context` pointing at the
    /// caller's own state (a struct on its stack); returns when all are done. Allocation-free.
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

    /// How to split `count` elements over the pool: the number of parts (1 when `count < minimum`)
    /// and the size of each but the last (a multiple of `align`).
    @inlinable
    public static func split(_ count: Int, minimum: Int = 32_768, align: Int = 16) -> (parts: Int, per: Int) {
        let t = threads
        if t == 1 || count < minimum { return (1, max(count, 1)) }
        let per = ((count + t - 1) / t + align - 1) / align * align
        return ((count + per - 1) / per, per)
    }
}
