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
    /// `loop.run(range)` for each part of `0..<count` as `split` cuts it (a single part, on the
    /// calling thread, when `count < minimum`); returns when all parts are done. This is the one
    /// way nntrain runs a loop in parallel: the loop is a struct of what it reads and writes, the
    /// pool gets its address on the caller's stack, and the call allocates nothing once
    /// specialised (a closure would not do: handing a non-escaping closure to other threads
    /// costs a heap box per call). Parts must write disjoint memory.
    @inlinable
    public static func forEach<Loop: ParallelLoop>(_ count: Int, minimum: Int = 32_768, align: Int = 16, _ loop: Loop) {
        let (parts, per) = split(count, minimum: minimum, align: align)
        forEach(parts: parts, per: per, count: count, loop)
    }

    /// `loop.run(i..<i+1)` for every part i in 0..<parts over the pool (a loop that cuts its own
    /// blocks). Allocation-free like `forEach(_:minimum:align:_:)`.
    @inlinable
    public static func forEach<Loop: ParallelLoop>(parts: Int, _ loop: Loop) {
        forEach(parts: parts, per: 1, count: parts, loop)
    }

    @inlinable
    static func forEach<Loop: ParallelLoop>(parts: Int, per: Int, count: Int, _ loop: Loop) {
        if parts <= 0 { return }
        if parts == 1 || threads == 1 {
            for part in 0..<parts { loop.run(part * per..<min(count, part * per + per)) }
            return
        }
        withUnsafePointer(to: loop) { l in
            // Specialised for a concrete Loop, `call` captures nothing: a thin function, no box.
            var frame = PoolFrame(loop: UnsafeRawPointer(l), per: per, count: count) { raw, range in
                raw.assumingMemoryBound(to: Loop.self).pointee.run(range)
            }
            withUnsafeMutablePointer(to: &frame) { f in
                nn_pool_run({ raw, part in
                    let f = raw!.assumingMemoryBound(to: PoolFrame.self).pointee
                    f.call(f.loop, part * f.per..<min(f.count, part * f.per + f.per))
                }, f, parts)
            }
        }
    }

    @usableFromInline
    struct PoolFrame {
        @usableFromInline let loop: UnsafeRawPointer
        @usableFromInline let per: Int, count: Int
        @usableFromInline let call: (UnsafeRawPointer, Range<Int>) -> Void
        @usableFromInline init(loop: UnsafeRawPointer, per: Int, count: Int, call: @escaping (UnsafeRawPointer, Range<Int>) -> Void) {
            self.loop = loop
            self.per = per
            self.count = count
            self.call = call
        }
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

/// The body of a parallel loop (`Parallel.forEach`): a struct holding the pointers and sizes the
/// loop reads and writes, and `run` doing the work of one part.
public protocol ParallelLoop {
    func run(_ range: Range<Int>)
}
