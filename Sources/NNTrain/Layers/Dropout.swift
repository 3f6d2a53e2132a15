import NNCore

/// `{"type": "dropout", "rate": 0.5}`: inverted dropout with p = `rate` in [0, 1) (`Dropout`),
/// any input shape. No parameters.
public struct DropoutSpec: LayerKind {
    public var rate: Float

    public init(rate: Float) { self.rate = rate }

    public static let typeNames = ["dropout"]

    public static func read(_ r: ObjectReader, type: String) -> DropoutSpec {
        DropoutSpec(rate: r.float("rate", default: 0.5, check: .halfOpen(0, 1)))
    }

    public var linearity: Linearity { .linear }
    public var outputActivation: OutputActivation { .transparent }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: shape, description: "dropout p=\(rate)")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        Dropout(name: site.name, rate: rate, inputShape: shape, rng: site.ownStream)
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
        Parallel.forEach(y.count, minimum: 16_384, align: 16,
                         DropoutMask(x: x, out: out, mask: m, threshold: threshold, scale: scale, key: rng.s0, counter: rng.s1))
        let counter = rng.s1
        rng.s1 = counter &+ UInt64((y.count + 1) / 2)
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard lastWasTraining else { return outputGrad }
        Parallel.forEach(outputGrad.count, minimum: 16_384, align: 16, DropoutGradient(mask: mask.storage.base, dy: outputGrad.pointer))
        return outputGrad
    }
}

// Dropout's loops over the worker pool, by blocks of elements.

/// y = x·mask for a block, mask = scale where the element's draw u ≥ p, else 0 (Kernels.dropoutForward:
/// element i's draw comes from the counter-based stream at counter + i/2, whatever the block).
struct DropoutMask: ParallelLoop {
    let x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>
    let threshold: UInt32, scale: Float, key: UInt64, counter: UInt64
    func run(_ range: Range<Int>) {
        Kernels.dropoutForward(x, out, mask: mask, range, threshold24: threshold, scale: scale, key: key, counter: counter)
    }
}

/// dx = dy · mask in place, for a block.
struct DropoutGradient: ParallelLoop {
    let mask: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>
    func run(_ range: Range<Int>) {
        for i in range { dy[i] *= mask[i] }
    }
}

extension Dropout {
    /// Nothing: dropout is the identity in evaluation mode.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String { input }

    /// `torch.nn.Dropout(rate)` holds the slot; forward skips it (the identity in evaluation).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        TorchCode(module: "torch.nn.Dropout(\(TorchCode.literal(rate)))", forward: ["# \(name): dropout, the identity in evaluation"])
    }
}
