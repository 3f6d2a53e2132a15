import NNCore

/// Every parameter of a model in one flat value buffer and one flat gradient buffer, so the
/// optimizer updates the whole model in one fused pass and zeroing, norms and checkpoints
/// are single loops.
public final class ParameterStore {
    public let parameters: [Parameter]
    public let values: TensorStorage
    public let grads: TensorStorage
    public let count: Int

    /// A contiguous run of one parameter in the flat buffers.
    public struct Segment: Sendable {
        public var offset: Int
        public var count: Int
        public var decays: Bool
        public var rows: Int
        /// Learning-rate multiplier; 0 means frozen (the optimizer skips the segment).
        public var lrScale: Float
    }
    public let segments: [Segment]

    /// Moves each parameter's initial value into the flat buffers and rebinds it to views.
    public init(_ parameters: [Parameter]) {
        self.parameters = parameters
        count = parameters.reduce(0) { $0 + $1.value.count }
        values = TensorStorage(capacity: count)
        grads = TensorStorage(capacity: count)
        var segs: [Segment] = []
        var offset = 0
        for p in parameters {
            let v = Tensor(viewing: values, offset: offset, shape: p.value.shape)
            v.copy(from: p.value)
            p.value = v
            p.grad = Tensor(viewing: grads, offset: offset, shape: p.value.shape)
            segs.append(Segment(offset: offset, count: v.count, decays: p.decays, rows: p.rows, lrScale: p.lrScale))
            offset += v.count
        }
        segments = segs
    }

    public var valueBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: values.base, count: count) }
    public var gradBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: grads.base, count: count) }

    /// ‖g‖₂ over every gradient (accumulated in Double).
    public func gradientNorm() -> Double {
        let g = grads.base
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        var total: Double = 0
        var i = 0
        // Blocks of 4096 in Float (vectorised), summed into a Double.
        while i < count {
            let end = min(count, i + 4096)
            var j = i
            while j + 4 <= end {
                s0 += g[j] * g[j]; s1 += g[j + 1] * g[j + 1]; s2 += g[j + 2] * g[j + 2]; s3 += g[j + 3] * g[j + 3]
                j += 4
            }
            while j < end { s0 += g[j] * g[j]; j += 1 }
            total += Double(s0 + s1 + s2 + s3)
            s0 = 0; s1 = 0; s2 = 0; s3 = 0
            i = end
        }
        return total.squareRoot()
    }

    /// True when every gradient is finite.
    public func gradientsAreFinite() -> Bool {
        let g = grads.base
        var acc: Float = 0
        for i in 0..<count { acc += g[i] * 0 }  // NaN/Inf propagate, finite values give 0
        return acc == 0
    }

    public func snapshot() -> [Float] { Array(valueBuffer) }

    public func restore(_ snapshot: [Float]) {
        precondition(snapshot.count == count, "ParameterStore.restore: \(snapshot.count) values for \(count)")
        snapshot.withUnsafeBufferPointer { values.base.update(from: $0.baseAddress!, count: count) }
    }
}
