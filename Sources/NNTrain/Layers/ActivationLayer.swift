import CSupport
import NNCore

/// A standalone element-wise activation (`{"type": "relu"}`), for use after layers that do
/// not fuse one.
public final class ActivationLayer: Layer {
    public let name: String
    public let activation: Activation
    public let outputShape: Shape
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var lastOutput: Tensor?
    private var lastInput: Tensor?

    public init(name: String, activation: Activation, inputShape: [Int]) {
        self.name = name
        self.activation = activation
        outputShape = Shape(inputShape)
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let y = output.view(batch: input.shape[0])
        ActivationKernels.apply(activation, input.pointer, y.pointer, count: y.count)
        lastOutput = y
        lastInput = input
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let dx = inputGrad.view(batch: y.shape[0])
        ActivationKernels.backward(activation, x: lastInput.map { UnsafePointer($0.pointer) }, y: y.pointer,
                                   dy: outputGrad.pointer, dx: dx.pointer, count: y.count)
        return dx
    }
}

/// `{"type": "flatten"}`: `[B, C, H, W]` → `[B, C·H·W]`, a view (no copy).
public final class Flatten: Layer {
    public let name: String
    public let outputShape: Shape
    private var lastInputShape: Shape?

    public init(name: String, inputShape: [Int]) {
        self.name = name
        outputShape = Shape([inputShape.reduce(1, *)])
    }

    public func allocate(maxBatch: Int) {}

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        lastInputShape = input.shape
        return input.reshaped(Shape(input.shape[0], outputShape[0]))
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient, let s = lastInputShape else { return nil }
        return outputGrad.reshaped(s)
    }
}

/// Inverted dropout (torch.nn.Dropout): in training each element is zeroed with probability p
/// and the survivors scaled by 1/(1 − p); in evaluation it is the identity.
/// Dropout's forward (or backward) split over the pool.
struct DropoutJob {
    var x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>
    var count: Int, per: Int, threshold: UInt32, scale: Float, key: UInt64, counter: UInt64
}

public final class Dropout: SeededLayer {
    public let name: String
    public let rate: Float
    public let outputShape: Shape
    /// The layer's own stream, derived from the run seed and the layer index.
    public var rng: Xoshiro256
    private var output: BatchBuffer!
    private var mask: BatchBuffer!
    private var lastWasTraining = false

    public init(name: String, rate: Float, inputShape: [Int], rng: Xoshiro256) {
        self.name = name
        self.rate = rate
        self.rng = rng
        outputShape = Shape(inputShape)
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        mask = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        guard mode == .training, rate > 0 else { lastWasTraining = false; return input }
        lastWasTraining = true
        let batch = input.shape[0]
        let y = output.view(batch: batch).reshaped(input.shape)
        let m = mask.view(batch: batch).pointer
        let x = input.pointer, out = y.pointer
        let scale = 1 / (1 - rate)
        // keep when u >= p, u uniform in [0, 1) with 24 bits, two decisions per 64-bit draw of a
        // counter-based stream: the layer's generator holds the key (s0) and the draws so far
        // (s1), so the mask does not depend on how the pool splits the batch.
        let threshold = UInt32(Double(rate) * Double(1 << 24))
        let (parts, per) = Parallel.split(y.count, minimum: 16_384, align: 16)
        var job = DropoutJob(x: x, out: out, mask: m, count: y.count, per: per, threshold: threshold, scale: scale,
                             key: rng.s0, counter: rng.s1)
        withUnsafeMutablePointer(to: &job) { p in
            Parallel.run(parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                let j = raw!.assumingMemoryBound(to: DropoutJob.self).pointee
                let lo = part * j.per
                nn_dropout_forward(j.x, j.out, j.mask, lo, min(j.count, lo + j.per), j.threshold, j.scale, j.key, j.counter)
            }
        }
        let counter = rng.s1
        rng.s1 = counter &+ UInt64((y.count + 1) / 2)
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard lastWasTraining else { return outputGrad }
        let (parts, per) = Parallel.split(outputGrad.count, minimum: 16_384)
        var job = DropoutJob(x: UnsafePointer(mask.storage.base), out: outputGrad.pointer, mask: mask.storage.base,
                             count: outputGrad.count, per: per, threshold: 0, scale: 0, key: 0, counter: 0)
        withUnsafeMutablePointer(to: &job) { p in
            Parallel.run(parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                let j = raw!.assumingMemoryBound(to: DropoutJob.self).pointee
                let lo = part * j.per
                for i in lo..<min(j.count, lo + j.per) { j.out[i] *= j.x[i] }   // dx = dy · mask, in place
            }
        }
        return outputGrad
    }
}
