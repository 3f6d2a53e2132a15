
/// Owns one 64-byte-aligned, zero-initialised block of Float32.
///
/// Tensors are views into a storage (offset + shape); many views may share one storage, which is
/// how parameters live in one flat buffer and layers reuse their buffers across batch sizes.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity >= 0, "TensorStorage: negative capacity \(capacity)")
        self.capacity = capacity
        var raw: UnsafeMutableRawPointer? = nil
        let bytes = max(capacity, 1) * MemoryLayout<Float>.stride
        let rc = posix_memalign(&raw, 64, bytes)
        precondition(rc == 0 && raw != nil, "TensorStorage: cannot allocate \(bytes) bytes")
        memset(raw!, 0, bytes)
        base = raw!.bindMemory(to: Float.self, capacity: max(capacity, 1))
    }

    deinit { free(base) }
}

/// A Float32, row-major, contiguous tensor: a view (offset, shape) of a `TensorStorage`.
///
/// Copying a `Tensor` copies the view, never the data. Hot code reads and writes through
/// `pointer`; `scalars` (a copy into an array) is for tests, fixtures and configs.
public struct Tensor: @unchecked Sendable {
    public let storage: TensorStorage
    public let offset: Int
    public let shape: Shape

    /// A new zero-filled tensor with its own storage.
    public init(zeros shape: Shape) {
        storage = TensorStorage(capacity: shape.count)
        offset = 0
        self.shape = shape
    }

    public init(zeros dims: [Int]) { self.init(zeros: Shape(dims)) }

    public init(shape dims: [Int], scalars: [Float]) {
        let shape = Shape(dims)
        precondition(shape.count == scalars.count, "Tensor: \(scalars.count) scalars for shape \(shape)")
        self.init(zeros: shape)
        scalars.withUnsafeBufferPointer { src in
            if let s = src.baseAddress { pointer.update(from: s, count: scalars.count) }
        }
    }

    /// A view of `storage` starting at `offset`.
    public init(viewing storage: TensorStorage, offset: Int = 0, shape: Shape) {
        precondition(offset >= 0 && offset + shape.count <= storage.capacity,
                     "Tensor: view \(offset)+\(shape.count) exceeds capacity \(storage.capacity)")
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    @inline(__always) public var count: Int { shape.count }
    @inline(__always) public var pointer: UnsafeMutablePointer<Float> { storage.base + offset }
    @inline(__always) public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    /// The same data under another shape with the same element count.
    public func reshaped(_ newShape: Shape) -> Tensor {
        precondition(newShape.count == count, "Tensor: cannot reshape \(shape) to \(newShape)")
        return Tensor(viewing: storage, offset: offset, shape: newShape)
    }

    /// A copy of the elements, for tests and serialisation.
    public var scalars: [Float] { Array(buffer) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "Tensor.copy: \(other.shape) into \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }
}

/// A buffer sized once for the largest batch, handing out per-batch-size views without
/// allocating after the first request for each size (a partial last batch gets its own view).
public final class BatchBuffer {
    public let sampleShape: Shape
    public let maxBatch: Int
    public let storage: TensorStorage
    private var views: [Int: Tensor] = [:]

    /// `sampleShape` has a leading 1 where the batch dimension goes (e.g. `[1, 512]`).
    public init(sampleShape: Shape, maxBatch: Int) {
        self.sampleShape = sampleShape
        self.maxBatch = maxBatch
        storage = TensorStorage(capacity: sampleShape.count * maxBatch)
    }

    public func view(batch: Int) -> Tensor {
        if let v = views[batch] { return v }
        precondition(batch <= maxBatch, "BatchBuffer: batch \(batch) > capacity \(maxBatch)")
        let v = Tensor(viewing: storage, shape: sampleShape.withBatch(batch))
        views[batch] = v
        return v
    }
}
