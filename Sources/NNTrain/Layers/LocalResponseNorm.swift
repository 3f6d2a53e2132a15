import NNCore


/// `{"type": "local_response_norm", "size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1}`: local
/// response normalisation across channels (`LocalResponseNorm`), any input shape. No parameters.
public struct LocalResponseNormSpec: LayerKind {
    public var size: Int
    public var alpha: Float, beta: Float, k: Float

    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, k: Float = 1) {
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k
    }

    public static let typeNames = ["local_response_norm"]

    public static func read(_ r: ObjectReader, type: String) -> LocalResponseNormSpec {
        let size = r.int("size", default: 5, check: .closed(1, 1024))
        return LocalResponseNormSpec(size: size, alpha: r.float("alpha", default: 1e-4, check: .nonNegative),
                                     beta: r.float("beta", default: 0.75, check: .nonNegative), k: r.float("k", default: 1, check: .positive))
    }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: shape, description: "local_response_norm n=\(size)")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        LocalResponseNorm(name: site.name, inputShape: shape, size: size, alpha: alpha, beta: beta, k: k)
    }
}

/// Local response normalisation across channels (Krizhevsky et al. 2012; torch.nn.LocalResponseNorm):
/// b_c = a_c / (k + (α/n)·Σ_{c' ∈ window(c)} a_{c'}²)^β, the window the `size` = n channels
/// centred on c (clipped at the edges). Channels are C of `[B, C, H, W]`, or the features of `[B, F]`.
/// Backward: dx_c = dy_c·s_c^(−β) − (2αβ/n)·a_c·Σ_{c': c ∈ window(c')} dy_{c'}·a_{c'}·s_{c'}^(−β−1).
public final class LocalResponseNorm: Layer {
    public let name: String
    public let outputShape: Shape
    public let size: Int
    public let alpha: Float, beta: Float, k: Float
    let channels: Int
    let spatial: Int
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var scale: BatchBuffer!
    private var lastInput: Tensor?

    public init(name: String, inputShape: [Int], size: Int, alpha: Float = 1e-4, beta: Float = 0.75, k: Float = 1) {
        self.name = name
        outputShape = Shape(inputShape)
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k
        channels = inputShape[0]
        spatial = inputShape.dropFirst().reduce(1, *)
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        scale = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    /// The channel window of c: [c − ⌊(n−1)/2⌋ … c + ⌈(n−1)/2⌉] ∩ [0, C) (torch pads n/2 before, (n−1)/2 after).
    @inline(__always) func window(_ c: Int) -> Range<Int> { max(0, c - size / 2)..<min(channels, c + (size - 1) / 2 + 1) }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        let y = output.view(batch: batch).reshaped(input.shape)
        let x = input.pointer, out = y.pointer, sc = scale.view(batch: batch).pointer
        let an = alpha / Float(size)
        for s in 0..<batch {
            for c in 0..<channels {
                let w = window(c)
                for p in 0..<spatial {
                    var sum: Float = 0
                    for c2 in w { let v = x[(s * channels + c2) * spatial + p]; sum += v * v }
                    let i = (s * channels + c) * spatial + p
                    let si = k + an * sum
                    sc[i] = si
                    out[i] = x[i] * powf(si, -beta)
                }
            }
        }
        lastInput = input
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient, let input = lastInput else { return nil }
        let batch = input.shape[0]
        let x = input.pointer, dy = outputGrad.pointer, sc = scale.view(batch: batch).pointer
        let dx = inputGrad.view(batch: batch).pointer
        let coef = 2 * alpha * beta / Float(size)
        for s in 0..<batch {
            for c in 0..<channels {
                for p in 0..<spatial {
                    let i = (s * channels + c) * spatial + p
                    var acc: Float = 0
                    // c is in window(c') exactly when c' is in the mirrored window around c.
                    for c2 in max(0, c - (size - 1) / 2)..<min(channels, c + size / 2 + 1) {
                        let j = (s * channels + c2) * spatial + p
                        acc += dy[j] * x[j] * powf(sc[j], -beta - 1)
                    }
                    dx[i] = dy[i] * powf(sc[i], -beta) - coef * x[i] * acc
                }
            }
        }
        return inputGrad.view(batch: batch).reshaped(input.shape)
    }
}

extension LocalResponseNorm {
    /// LRN (size, alpha, beta, bias k) on images when `size` is odd. ONNX's window is
    /// [c − ⌊(n−1)/2⌋, c + ⌈(n−1)/2⌉], this layer's (and torch's) [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋]:
    /// the same only for odd n. Otherwise, and on flat inputs, it is spelled out: the squares
    /// summed over each window by a MatMul with the 0/1 band matrix, x·(k + α/n·sum)^−β.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        if size % 2 == 1 && outputShape.rank == 3 {
            return graph.add("LRN", [input], name: name, attributes: [
                ("size", .int(size)), ("alpha", .float(alpha)), ("beta", .float(beta)), ("bias", .float(k)),
            ])
        }
        var band = [Float](repeating: 0, count: channels * channels)
        for c in 0..<channels { for c2 in window(c) { band[c * channels + c2] = 1 } }
        let x = graph.add("Reshape", [input, graph.constant(name + ".shape", int64s: [-1, channels, spatial])], name: name)
        let squares = graph.add("Mul", [x, x], name: name)
        let sums = graph.add("MatMul", [graph.constant(name + ".window", dims: [channels, channels], band), squares], name: name)
        let scaled = graph.add("Mul", [sums, graph.constant(name + ".alpha_n", dims: [], [alpha / Float(size)])], name: name)
        let s = graph.add("Add", [scaled, graph.constant(name + ".k", dims: [], [k])], name: name)
        let p = graph.add("Pow", [s, graph.constant(name + ".neg_beta", dims: [], [-beta])], name: name)
        let y = graph.add("Mul", [x, p], name: name)
        return graph.add("Reshape", [y, graph.constant(name + ".out_shape", int64s: [-1] + outputShape.dims)], name: name)
    }

    /// `F.local_response_norm` on `[N, C, S]` (torch's window is this layer's for every size).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let l = TorchCode.literal
        let args = "\(size), \(l(alpha)), \(l(beta)), \(l(k))"
        return TorchCode(module: "torch.nn.LocalResponseNorm(\(args))",
                         forward: ["x = F.local_response_norm(x.reshape(x.shape[0], \(channels), -1), \(args)).reshape(x.shape)"])
    }
}
