import NNCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
                rm[c] = (1 - momentum) * rm[c] + momentum * m
                let unbiased = n > 1 ? variance * Double(n) / Double(n - 1) : variance
                rv[c] = (1 - momentum) * rv[c] + momentum * Float(unbiased)
            }
            batchesTracked.pointer[0] += 1
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
