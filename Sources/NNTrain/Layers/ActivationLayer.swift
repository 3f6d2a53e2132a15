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
        let key = rng.s0, counter = rng.s1
        Parallel.chunks(y.count, minimum: 16_384, align: 16) { r in
            nn_dropout_forward(x, out, m, r.lowerBound, r.upperBound, threshold, scale, key, counter)
        }
        rng.s1 = counter &+ UInt64((y.count + 1) / 2)
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard lastWasTraining else { return outputGrad }
        let g = outputGrad.pointer, m = mask.storage.base
        Parallel.chunks(outputGrad.count, minimum: 16_384) { r in
            for i in r { g[i] *= m[i] }
        }
        return outputGrad
    }
}
