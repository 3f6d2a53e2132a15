import NNCore

/// `{"type": "layer_norm", "eps": 1e-5, "affine": true}`: layer normalisation over each
/// sample's features, any input shape (`LayerNorm`). Parameters: 2 per value of the sample
/// (γ, β) when affine.
public struct LayerNormSpec: LayerKind {
    public var eps: Float
    public var affine: Bool
    public var layerOptions: LayerOptions

    public init(eps: Float = 1e-5, affine: Bool = true, options: LayerOptions = LayerOptions()) {
        self.eps = eps
        self.affine = affine
        layerOptions = options
    }

    public static let typeNames = ["layer_norm"]

    public static func read(_ r: ObjectReader, type: String) -> LayerNormSpec {
        let eps = r.float("eps", default: 1e-5, check: .positive)
        let affine = r.bool("affine", default: true)
        return LayerNormSpec(eps: eps, affine: affine, options: LayerOptions.read(r, hasInit: false, hasBias: false))
    }

    public var options: LayerOptions? { layerOptions }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: shape, parameters: affine ? 2 * shape.reduce(1, *) : 0, description: "layer_norm (\(shape.reduce(1, *)) features)")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        LayerNorm(name: site.name, inputShape: shape, eps: eps, affine: affine)
    }
}

/// Layer normalisation (Ba et al. 2016; torch.nn.LayerNorm over the whole sample): per sample,
/// x̂ = (x − μ)/√(σ² + eps) over its F features (biased variance), y = γ⊙x̂ + β with γ, β of
/// the sample's shape. The same in training and evaluation.
/// Backward: dx̂ = dy⊙γ; dx = (1/√(σ² + eps))/F · (F·dx̂ − Σdx̂ − x̂·Σ(dx̂⊙x̂)).
public final class LayerNorm: Layer {
    public let name: String
    public let outputShape: Shape
    public let features: Int
    public let eps: Float
    public let gamma: Parameter?
    public let beta: Parameter?
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var xhat: BatchBuffer!
    private var invStd: UnsafeMutablePointer<Float>?
    private var lastBatch = 0

    public init(name: String, inputShape: [Int], eps: Float = 1e-5, affine: Bool = true) {
        self.name = name
        outputShape = Shape(inputShape)
        features = inputShape.reduce(1, *)
        self.eps = eps
        if affine {
            let g = Tensor(zeros: inputShape)
            g.fill(1)
            gamma = Parameter(name: name + ".weight", value: g, decays: false)
            beta = Parameter(name: name + ".bias", value: Tensor(zeros: inputShape), decays: false)
        } else {
            gamma = nil
            beta = nil
        }
    }

    deinit { invStd?.deallocate() }

    public var parameters: [Parameter] { [gamma, beta].compactMap { $0 } }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        xhat = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        invStd?.deallocate()
        invStd = .allocate(capacity: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        lastBatch = batch
        let y = output.view(batch: batch).reshaped(input.shape)
        let x = input.pointer, out = y.pointer, xh = xhat.view(batch: batch).pointer
        let g = gamma?.value.pointer, b = beta?.value.pointer
        for s in 0..<batch {
            let row = x + s * features
            var sum = 0.0, sq = 0.0
            for j in 0..<features { let v = Double(row[j]); sum += v; sq += v * v }
            let mean = sum / Double(features)
            let inv = Float(1 / (max(0, sq / Double(features) - mean * mean) + Double(eps)).squareRoot())
            invStd![s] = inv
            let m = Float(mean)
            for j in 0..<features {
                let h = (row[j] - m) * inv
                xh[s * features + j] = h
                out[s * features + j] = (g?[j] ?? 1) * h + (b?[j] ?? 0)
            }
        }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        let batch = lastBatch, n = Float(features)
        let dy = outputGrad.pointer, xh = xhat.view(batch: batch).pointer, dx = inputGrad.view(batch: batch).pointer
        let g = gamma?.value.pointer
        if let gamma, let beta {
            let dg = gamma.grad.pointer, db = beta.grad.pointer
            dg.update(repeating: 0, count: features)
            db.update(repeating: 0, count: features)
            for s in 0..<batch {
                for j in 0..<features { dg[j] += dy[s * features + j] * xh[s * features + j]; db[j] += dy[s * features + j] }
            }
        }
        guard needsInputGradient else { return nil }
        for s in 0..<batch {
            var sumD: Float = 0, sumDX: Float = 0
            for j in 0..<features {
                let d = dy[s * features + j] * (g?[j] ?? 1)
                sumD += d
                sumDX += d * xh[s * features + j]
            }
            let k = invStd![s] / n
            for j in 0..<features {
                let d = dy[s * features + j] * (g?[j] ?? 1)
                dx[s * features + j] = k * (n * d - sumD - xh[s * features + j] * sumDX)
            }
        }
        return inputGrad.view(batch: batch).reshaped(outputGrad.shape)
    }
}

extension LayerNorm {
    /// LayerNormalization over every axis but the batch (axis 1), γ and β of the layer's shape
    /// (ones and zeros without `affine`).
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        let dims = outputShape.dims
        let g = graph.constant(gamma?.name ?? name + ".weight", dims: dims, gamma?.value.scalars ?? [Float](repeating: 1, count: features))
        let b = graph.constant(beta?.name ?? name + ".bias", dims: dims, beta?.value.scalars ?? [Float](repeating: 0, count: features))
        return graph.add("LayerNormalization", [input, g, b], name: name, attributes: [("axis", .int(1)), ("epsilon", .float(eps))])
    }

    /// `torch.nn.LayerNorm(shape)` over every axis of an example (no tensors without `affine`).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let m = "torch.nn.LayerNorm(\(TorchCode.list(outputShape.dims)), eps=\(TorchCode.literal(eps)), elementwise_affine=\(gamma == nil ? "False" : "True"))"
        return TorchCode(module: m, forward: ["x = \(module)(x)"])
    }
}
