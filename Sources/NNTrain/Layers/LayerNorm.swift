import NNCore

/// `{"type": "layer_norm", "eps": 1e-5, "affine": true, "normalized_shape": null}`: layer
/// normalisation over the trailing axes `normalized_shape` of each sample (torch.nn.LayerNorm),
/// any input shape (`LayerNorm`). Without it: the feature axis of a sequence `[T, F]` (each
/// step on its own), the whole sample otherwise. Parameters: 2 per value of
/// `normalized_shape` (γ, β) when affine.
public struct LayerNormSpec: LayerKind {
    public var eps: Float
    public var affine: Bool
    public var normalizedShape: [Int]?
    public var layerOptions: LayerOptions

    public init(eps: Float = 1e-5, affine: Bool = true, normalizedShape: [Int]? = nil, options: LayerOptions = LayerOptions()) {
        self.eps = eps
        self.affine = affine
        self.normalizedShape = normalizedShape
        layerOptions = options
    }

    public static let typeNames = ["layer_norm"]

    public static func read(_ r: ObjectReader, type: String) -> LayerNormSpec {
        let eps = r.float("eps", default: 1e-5, check: .positive)
        let affine = r.bool("affine", default: true)
        var normalized: [Int]?
        if case .array? = r.raw("normalized_shape") {
            normalized = r.ints("normalized_shape", default: nil, check: .closed(1, 16_777_216))
            if normalized?.isEmpty == true { r.diagnostics.error(r.childPath("normalized_shape"), "expected 1 to 3 trailing dimensions of the input, got []") }
        } else {
            _ = r.optionalInt("normalized_shape", check: .closed(1, 16_777_216)).map { normalized = [$0] }
        }
        return LayerNormSpec(eps: eps, affine: affine, normalizedShape: normalized, options: LayerOptions.read(r, hasInit: false, hasBias: false))
    }

    /// The axes normalised on a per-sample `shape`: `normalized_shape`, else the default.
    func normalized(_ shape: [Int]) -> [Int] { normalizedShape ?? (shape.count == 2 ? [shape[1]] : shape) }

    public var options: LayerOptions? { layerOptions }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        let axes = normalized(shape)
        guard axes.count <= shape.count, Array(shape.suffix(axes.count)) == axes else {
            model.errors.append(ConfigError(path: site.path + ".normalized_shape", message: "expected trailing dimensions of the input \(shape), got \(axes)"))
            return nil
        }
        let n = axes.reduce(1, *)
        let per = axes.count == shape.count ? "" : " per \(shape.dropLast(axes.count).map(String.init).joined(separator: "×")) positions"
        return LayerPlan(output: shape, parameters: affine ? 2 * n : 0, description: "layer_norm (\(n) features\(per))")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        LayerNorm(name: site.name, inputShape: shape, normalizedShape: normalized(shape), eps: eps, affine: affine)
    }
}

/// Layer normalisation (Ba et al. 2016; torch.nn.LayerNorm): per sample and position of the
/// leading axes (a sequence's step), x̂ = (x − μ)/√(σ² + eps) over the F values of the
/// normalised axes (biased variance), y = γ⊙x̂ + β with γ, β of the normalised shape. The
/// same in training and evaluation.
/// Backward: dx̂ = dy⊙γ; dx = (1/√(σ² + eps))/F · (F·dx̂ − Σdx̂ − x̂·Σ(dx̂⊙x̂)).
public final class LayerNorm: Layer {
    public let name: String
    public let outputShape: Shape
    /// Values normalised together, and groups of them per sample (a sequence's steps).
    public let features: Int
    public let groups: Int
    public let normalizedShape: [Int]
    public let eps: Float
    public let gamma: Parameter?
    public let beta: Parameter?
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var xhat: BatchBuffer!
    private var invStd: UnsafeMutablePointer<Float>?
    private var lastBatch = 0

    public init(name: String, inputShape: [Int], normalizedShape: [Int]? = nil, eps: Float = 1e-5, affine: Bool = true) {
        self.name = name
        outputShape = Shape(inputShape)
        let axes = normalizedShape ?? inputShape
        self.normalizedShape = axes
        features = axes.reduce(1, *)
        groups = inputShape.reduce(1, *) / features
        self.eps = eps
        if affine {
            let g = Tensor(zeros: axes)
            g.fill(1)
            gamma = Parameter(name: name + ".weight", value: g, decays: false)
            beta = Parameter(name: name + ".bias", value: Tensor(zeros: axes), decays: false)
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
        invStd = .allocate(capacity: maxBatch * groups)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        lastBatch = batch
        let y = output.view(batch: batch).reshaped(input.shape)
        let x = input.pointer, out = y.pointer, xh = xhat.view(batch: batch).pointer
        let g = gamma?.value.pointer, b = beta?.value.pointer
        for s in 0..<(batch * groups) {
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
        let rows = lastBatch * groups, n = Float(features)
        let dy = outputGrad.pointer, xh = xhat.view(batch: lastBatch).pointer, dx = inputGrad.view(batch: lastBatch).pointer
        let g = gamma?.value.pointer
        if let gamma, let beta {
            let dg = gamma.grad.pointer, db = beta.grad.pointer
            dg.update(repeating: 0, count: features)
            db.update(repeating: 0, count: features)
            for s in 0..<rows {
                for j in 0..<features { dg[j] += dy[s * features + j] * xh[s * features + j]; db[j] += dy[s * features + j] }
            }
        }
        guard needsInputGradient else { return nil }
        for s in 0..<rows {
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
        return inputGrad.view(batch: lastBatch).reshaped(outputGrad.shape)
    }
}

extension LayerNorm {
    /// LayerNormalization over the normalised trailing axes, γ and β of their shape (ones and
    /// zeros without `affine`).
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        let dims = normalizedShape
        let axis = 1 + outputShape.rank - dims.count
        let g = graph.constant(gamma?.name ?? name + ".weight", dims: dims, gamma?.value.scalars ?? [Float](repeating: 1, count: features))
        let b = graph.constant(beta?.name ?? name + ".bias", dims: dims, beta?.value.scalars ?? [Float](repeating: 0, count: features))
        return graph.add("LayerNormalization", [input, g, b], name: name, attributes: [("axis", .int(axis)), ("epsilon", .float(eps))])
    }

    /// `torch.nn.LayerNorm(normalized_shape)` (no tensors without `affine`).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let m = "torch.nn.LayerNorm(\(TorchCode.list(normalizedShape)), eps=\(TorchCode.literal(eps)), elementwise_affine=\(gamma == nil ? "False" : "True"))"
        return TorchCode(module: m, forward: ["x = \(module)(x)"])
    }
}
