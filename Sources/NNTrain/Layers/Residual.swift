import NNCore

/// A residual block (He et al. 2016): y = F(x) + P(x), F the block's layers in order, P the
/// identity when F keeps the shape, else a learned bias-free projection `projection.weight`:
/// dense `[out, in]` for flat shapes, a 1×1 convolution (stride = the size ratio) for images.
/// Names nest: `layers.N.layers.M.weight`.
public final class Residual: Layer {
    public let name: String
    public let inner: [any Layer]
    public let projection: (any Layer)?
    public let outputShape: Shape
    private let inputShape: Shape
    private var output: BatchBuffer!
    private var gradCopy: BatchBuffer!
    private var inputGrad: BatchBuffer!

    public init(name: String, inputShape: [Int], inner: [any Layer], projection: (any Layer)?) {
        self.name = name
        self.inner = inner
        self.projection = projection
        self.inputShape = Shape(inputShape)
        outputShape = inner.last?.outputShape ?? Shape(inputShape)
    }

    public var parameters: [Parameter] { inner.flatMap(\.parameters) + (projection?.parameters ?? []) }
    public var buffers: [(String, Tensor)] { inner.flatMap(\.buffers) }

    public var sublayers: [any Layer] { inner + (projection.map { [$0] } ?? []) }

    public func allocate(maxBatch: Int) {
        for l in inner { l.allocate(maxBatch: maxBatch) }
        projection?.allocate(maxBatch: maxBatch)
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        gradCopy = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(inputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        var h = input
        for l in inner { h = l.forward(h, mode: mode) }
        let y = output.view(batch: batch)
        let skip = projection?.forward(input, mode: mode) ?? input
        let a = h.pointer, b = skip.pointer, out = y.pointer
        for i in 0..<y.count { out[i] = a[i] + b[i] }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        let batch = outputGrad.shape[0]
        // The inner layers may overwrite the gradient they get, and the skip path needs it too.
        let g = gradCopy.view(batch: batch)
        g.copy(from: outputGrad)
        var d: Tensor? = outputGrad
        for l in inner.reversed() {
            guard let cur = d else { break }
            d = l.backward(cur, needsInputGradient: true)
        }
        let dx = inputGrad.view(batch: batch)
        let skipGrad = projection?.backward(g, needsInputGradient: needsInputGradient) ?? (needsInputGradient ? g : nil)
        guard needsInputGradient else { return nil }
        let out = dx.pointer
        if let d {
            let a = d.pointer, b = skipGrad!.pointer
            for i in 0..<dx.count { out[i] = a[i] + b[i] }
        } else {
            dx.copy(from: skipGrad!)
        }
        return dx.reshaped(Shape([batch] + inputShape.dims))
    }
}
