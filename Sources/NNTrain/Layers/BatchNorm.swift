import NNCore

/// `{"type": "batch_norm", "momentum": 0.1, "eps": 1e-5, "affine": true}`: batch normalisation
/// per feature of `[F]` or per channel of `[C, H, W]` (`BatchNorm`). Parameters: 2 per
/// feature or channel (γ, β) when affine.
public struct BatchNormSpec: LayerKind {
    public var momentum: Float
    public var eps: Float
    public var affine: Bool
    public var layerOptions: LayerOptions

    public init(momentum: Float = 0.1, eps: Float = 1e-5, affine: Bool = true, options: LayerOptions = LayerOptions()) {
        self.momentum = momentum
        self.eps = eps
        self.affine = affine
        layerOptions = options
    }

    public static let typeNames = ["batch_norm"]

    public static func read(_ r: ObjectReader, type: String) -> BatchNormSpec {
        let momentum = r.float("momentum", default: 0.1, check: .closed(0, 1))
        let eps = r.float("eps", default: 1e-5, check: .positive)
        let affine = r.bool("affine", default: true)
        return BatchNormSpec(momentum: momentum, eps: eps, affine: affine, options: LayerOptions.read(r, hasInit: false, hasBias: false))
    }

    public var options: LayerOptions? { layerOptions }
    public var linearity: Linearity { .linear }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: shape, parameters: affine ? 2 * shape[0] : 0,
                  description: shape.count == 1 ? "batch_norm (\(shape[0]) features)" : "batch_norm (\(shape[0]) channels)")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        BatchNorm(name: site.name, inputShape: shape, momentum: momentum, eps: eps, affine: affine)
    }
}

/// Batch normalisation (Ioffe & Szegedy 2015; torch.nn.BatchNorm1d/2d): per feature of a
/// `[B, F]` input, or per channel of `[B, C, H, W]` (statistics over B·H·W).
///
/// Training: x̂ = (x − μ_B)/√(σ²_B + eps) with the batch mean and biased variance;
/// y = γx̂ + β; running_mean ← (1 − m)·running_mean + m·μ_B, running_var ← (1 − m)·running_var
/// + m·σ²_B·n/(n − 1) (unbiased). Evaluation uses the running statistics.
/// Backward (training): dx = (γ/√(σ² + eps))/n · (n·dy − Σdy − x̂·Σ(dy·x̂)); dγ = Σ dy·x̂; dβ = Σ dy.
public final class BatchNorm: Layer {
    public let name: String
    public let outputShape: Shape
    public let channels: Int
    let spatial: Int
    public let momentum: Float
    public let eps: Float
    public let gamma: Parameter?
    public let beta: Parameter?
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let batchesTracked: Tensor
    /// Set by `beginStatisticsPass`: training-mode batches seen since, whose statistics the
    /// running ones become the plain mean of (momentum 1/k for the k-th; torch's momentum=None).
    public private(set) var statisticsPass: Int? = nil
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var xhat: BatchBuffer!
    private var invStd: [Float]
    private var lastBatch = 0
    private var lastWasTraining = false

    public init(name: String, inputShape: [Int], momentum: Float = 0.1, eps: Float = 1e-5, affine: Bool = true) {
        self.name = name
        outputShape = Shape(inputShape)
        channels = inputShape[0]
        spatial = inputShape.dropFirst().reduce(1, *)
        self.momentum = momentum
        self.eps = eps
        if affine {
            let g = Tensor(zeros: [channels])
            g.fill(1)
            gamma = Parameter(name: name + ".weight", value: g, decays: false)
            beta = Parameter(name: name + ".bias", value: Tensor(zeros: [channels]), decays: false)
        } else {
            gamma = nil
            beta = nil
        }
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(zeros: [channels])
        runningVar.fill(1)
        batchesTracked = Tensor(zeros: [1])
        invStd = [Float](repeating: 1, count: channels)
    }

    /// Forgets the running statistics (mean 0, variance 1, no batches tracked); until
    /// `endStatisticsPass` they become the plain mean of the training-mode batches' statistics.
    public func beginStatisticsPass() -> Bool {
        runningMean.fill(0); runningVar.fill(1); batchesTracked.fill(0)
        statisticsPass = 0
        return true
    }

    public func endStatisticsPass() { statisticsPass = nil }

    public var parameters: [Parameter] { [gamma, beta].compactMap { $0 } }
    public var buffers: [(String, Tensor)] {
        [(name + ".running_mean", runningMean), (name + ".running_var", runningVar), (name + ".num_batches_tracked", batchesTracked)]
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        xhat = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        let y = output.view(batch: batch).reshaped(input.shape)
        let x = input.pointer, out = y.pointer
        let g = gamma?.value.pointer, b = beta?.value.pointer
        let rm = runningMean.pointer, rv = runningVar.pointer
        lastWasTraining = mode == .training
        lastBatch = batch
        let n = batch * spatial
        if lastWasTraining {
            let mom = statisticsPass.map { 1 / Float($0 + 1) } ?? momentum
            let xh = xhat.view(batch: batch).pointer
            for c in 0..<channels {
                var sum = 0.0, sq = 0.0
                for s in 0..<batch {
                    let base = (s * channels + c) * spatial
                    for j in base..<(base + spatial) { let v = Double(x[j]); sum += v; sq += v * v }
                }
                let mean = sum / Double(n)
                let variance = max(0, sq / Double(n) - mean * mean)
                let inv = Float(1 / (variance + Double(eps)).squareRoot())
                invStd[c] = inv
                let m = Float(mean)
                let gc = g?[c] ?? 1, bc = b?[c] ?? 0
                for s in 0..<batch {
                    let base = (s * channels + c) * spatial
                    for j in base..<(base + spatial) {
                        let h = (x[j] - m) * inv
                        xh[j] = h
                        out[j] = gc * h + bc
                    }
                }
                rm[c] = (1 - mom) * rm[c] + mom * m
                let unbiased = n > 1 ? variance * Double(n) / Double(n - 1) : variance
                rv[c] = (1 - mom) * rv[c] + mom * Float(unbiased)
            }
            batchesTracked.pointer[0] += 1
            if let k = statisticsPass { statisticsPass = k + 1 }
        } else {
            for c in 0..<channels {
                let inv = 1 / (rv[c] + eps).squareRoot()
                let gc = (g?[c] ?? 1) * inv, bc = (b?[c] ?? 0) - rm[c] * gc
                for s in 0..<batch {
                    let base = (s * channels + c) * spatial
                    for j in base..<(base + spatial) { out[j] = x[j] * gc + bc }
                }
            }
        }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        precondition(lastWasTraining, "\(name): backward after an evaluation forward")
        let batch = lastBatch, n = Float(batch * spatial)
        let dy = outputGrad.pointer, xh = xhat.view(batch: batch).pointer
        let dx = inputGrad.view(batch: batch).pointer
        let g = gamma?.value.pointer
        for c in 0..<channels {
            var sumDy: Float = 0, sumDyX: Float = 0
            for s in 0..<batch {
                let base = (s * channels + c) * spatial
                for j in base..<(base + spatial) { sumDy += dy[j]; sumDyX += dy[j] * xh[j] }
            }
            gamma?.grad.pointer[c] = sumDyX
            beta?.grad.pointer[c] = sumDy
            guard needsInputGradient else { continue }
            let k = (g?[c] ?? 1) * invStd[c] / n
            for s in 0..<batch {
                let base = (s * channels + c) * spatial
                for j in base..<(base + spatial) { dx[j] = k * (n * dy[j] - sumDy - xh[j] * sumDyX) }
            }
        }
        return needsInputGradient ? inputGrad.view(batch: batch).reshaped(outputGrad.shape) : nil
    }
}

extension BatchNorm {
    /// Evaluation mode folded, as `forward` computes it: x·a + b per channel with
    /// a = γ/√(running_var + eps), b = β − running_mean·a, shaped [C, 1, …] (Mul, Add).
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        var a = [Float](repeating: 1, count: channels), b = [Float](repeating: 0, count: channels)
        let rm = runningMean.pointer, rv = runningVar.pointer
        for c in 0..<channels {
            let inv = 1 / (rv[c] + eps).squareRoot()
            a[c] = (gamma?.value.pointer[c] ?? 1) * inv
            b[c] = (beta?.value.pointer[c] ?? 0) - rm[c] * a[c]
        }
        let dims = [channels] + [Int](repeating: 1, count: outputShape.rank - 1)
        let scaled = graph.add("Mul", [input, graph.constant(name + ".scale", dims: dims, a)], name: name)
        return graph.add("Add", [scaled, graph.constant(name + ".shift", dims: dims, b)], name: name)
    }

    /// `torch.nn.BatchNorm1d/2d` (its tensors `weight`, `bias`, `running_mean`, `running_var`,
    /// `num_batches_tracked`); forward is `F.batch_norm` on the running statistics (training False).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let type = outputShape.rank == 3 ? "BatchNorm2d" : "BatchNorm1d"
        let m = "torch.nn.\(type)(\(channels), eps=\(TorchCode.literal(eps)), momentum=\(TorchCode.literal(momentum)), affine=\(gamma == nil ? "False" : "True"))"
        let f = "x = F.batch_norm(x, \(module).running_mean, \(module).running_var, \(module).weight, \(module).bias, False, 0.0, \(module).eps)"
        return TorchCode(module: m, forward: [f])
    }
}
