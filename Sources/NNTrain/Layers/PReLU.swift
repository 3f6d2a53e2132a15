import NNCore

/// Parametric ReLU (torch.nn.PReLU, He et al. 2015): y = x for x > 0, a·x otherwise, with a
/// learnable slope `a` — one for the layer, or one per channel (the feature of a `[B, F]`
/// input, the C of `[B, C, H, W]`). Slopes start at 0.25 and are not weight-decayed.
/// da = Σ over x ≤ 0 of dy·x; dx = dy for x > 0, a·dy otherwise.
public final class PReLU: Layer {
    public let name: String
    public let slope: Parameter
    public let outputShape: Shape
    /// Elements that share one slope in each sample (C·H·W / C, or all of them).
    private let channels: Int
    private let spatial: Int
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var lastInput: Tensor?

    public init(name: String, inputShape: [Int], perChannel: Bool, initial: Float) {
        self.name = name
        outputShape = Shape(inputShape)
        let features = inputShape.reduce(1, *)
        channels = perChannel ? inputShape[0] : 1
        spatial = perChannel ? features / inputShape[0] : features
        let a = Tensor(zeros: [channels])
        a.fill(initial)
        slope = Parameter(name: name + ".weight", value: a, decays: false)
    }

    public var parameters: [Parameter] { [slope] }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let y = output.view(batch: input.shape[0])
        let x = input.pointer, out = y.pointer, a = slope.value.pointer
        let samples = input.shape[0]
        for s in 0..<samples {
            for c in 0..<channels {
                let base = (s * channels + c) * spatial
                let ac = a[c]
                for j in base..<(base + spatial) { out[j] = x[j] > 0 ? x[j] : ac * x[j] }
            }
        }
        lastInput = input
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = lastInput else { preconditionFailure("\(name): backward before forward") }
        let x = input.pointer, dy = outputGrad.pointer, a = slope.value.pointer, da = slope.grad.pointer
        let samples = input.shape[0]
        da.update(repeating: 0, count: channels)
        let dx = needsInputGradient ? inputGrad.view(batch: samples).pointer : nil
        for s in 0..<samples {
            for c in 0..<channels {
                let base = (s * channels + c) * spatial
                let ac = a[c]
                var g: Float = 0
                for j in base..<(base + spatial) {
                    let neg = x[j] <= 0
                    if neg { g += dy[j] * x[j] }
                    dx?[j] = neg ? ac * dy[j] : dy[j]
                }
                da[c] += g
            }
        }
        return needsInputGradient ? inputGrad.view(batch: samples).reshaped(input.shape) : nil
    }
}

/// Randomised leaky ReLU (torch.nn.RReLU, Xu et al. 2015): in training each negative element
/// gets its own slope a ~ U(lower, upper), drawn from the layer's seeded stream; in evaluation
/// a = (lower + upper)/2. y = x for x ≥ 0, a·x otherwise.
public final class RReLU: SeededLayer {
    public let name: String
    public let lower: Float, upper: Float
    public let outputShape: Shape
    public var rng: Xoshiro256
    private var output: BatchBuffer!
    private var slopes: BatchBuffer!
    private var lastWasTraining = false

    public init(name: String, inputShape: [Int], lower: Float, upper: Float, rng: Xoshiro256) {
        self.name = name
        self.lower = lower
        self.upper = upper
        self.rng = rng
        outputShape = Shape(inputShape)
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        slopes = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        let y = output.view(batch: batch).reshaped(input.shape)
        let a = slopes.view(batch: batch).pointer
        let x = input.pointer, out = y.pointer
        lastWasTraining = mode == .training
        if lastWasTraining {
            for i in 0..<y.count {
                let s: Float = x[i] >= 0 ? 1 : rng.uniform(lower, upper)
                a[i] = s
                out[i] = s * x[i]
            }
        } else {
            let mid = (lower + upper) / 2
            for i in 0..<y.count { out[i] = x[i] >= 0 ? x[i] : mid * x[i] }
        }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        precondition(lastWasTraining, "\(name): backward after an evaluation forward")
        let g = outputGrad.pointer, a = slopes.storage.base
        for i in 0..<outputGrad.count { g[i] *= a[i] }
        return outputGrad
    }
}
