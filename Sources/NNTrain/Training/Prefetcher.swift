import Dispatch
import NNCore


/// Prepares the next training batch (gather, preprocess, augment) on a worker thread while the
/// current one trains: two slots used in turn, one worker, two semaphores. Jobs run strictly in
/// step order, so the augmentation stream — and so the run — is the same as without it.
final class BatchPrefetcher: @unchecked Sendable {
    struct Slot {
        let input: BatchBuffer
        let targets: TensorStorage
        let scratch: TensorStorage?
    }

    let slots: [Slot]
    /// Fills `slot` with the batch `[start, start + batch)` of the epoch order.
    private let work: (Slot, Int, Int) -> Void
    private let request = DispatchSemaphore(value: 0)
    private let ready = DispatchSemaphore(value: 0)
    private var thread = pthread_t()
    private var stopping = false
    // The job in flight (written by the main thread before `request`, read by the worker).
    private var jobSlot = 0, jobStart = 0, jobBatch = 0
    /// The step of the job in flight or done but not yet used; nil when none.
    private(set) var pendingStep: Int?
    private var pendingFinished = false

    init(slots: [Slot], work: @escaping (Slot, Int, Int) -> Void) {
        self.slots = slots
        self.work = work
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            let me = Unmanaged<BatchPrefetcher>.fromOpaque(raw!).takeRetainedValue()
            Runtime.flushDenormals()
            me.loop()
            return nil
        }, context)
    }

    private func loop() {
        while true {
            request.wait()
            if stopping { return }
            work(slots[jobSlot], jobStart, jobBatch)
            ready.signal()
        }
    }

    /// Starts preparing `step` (its batch `[start, start + batch)`) in slot step % 2.
    func prefetch(step: Int, start: Int, batch: Int) {
        precondition(pendingStep == nil, "prefetch: a batch is already pending")
        jobSlot = step % 2
        jobStart = start
        jobBatch = batch
        pendingStep = step
        pendingFinished = false
        request.signal()
    }

    /// Waits for the pending batch (if any) to be ready; it stays pending until `take`.
    func settle() {
        if pendingStep != nil && !pendingFinished {
            ready.wait()
            pendingFinished = true
        }
    }

    /// The slot holding `step`'s batch, preparing it here when it was not prefetched.
    func take(step: Int, start: Int, batch: Int) -> Slot {
        if pendingStep == step {
            settle()
            pendingStep = nil
            return slots[step % 2]
        }
        settle()
        pendingStep = nil
        work(slots[step % 2], start, batch)
        return slots[step % 2]
    }

    /// Stops the worker (after any job in flight).
    func shutdown() {
        settle()
        stopping = true
        request.signal()
        pthread_join(thread, nil)
    }
}
