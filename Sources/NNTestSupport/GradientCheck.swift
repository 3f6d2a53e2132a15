import NNCore
import NNTrain

/// The outcome of a finite-difference check: the worst relative error and where it was.
public struct GradientReport: CustomStringConvertible {
    public var worstError: Double = 0
    public var worstWhere = ""
    public var checked = 0
    /// Elements skipped because the function has a kink within ±h there (ReLU at 0).
    public var skipped = 0
    public var description: String {
        "worst relative error \(worstError) at \(worstWhere) (\(checked) checked, \(skipped) skipped at kinks)"
    }

    mutating func compare(_ analytic: Double, _ numeric: Double, _ place: String) {
        let err = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1)
        checked += 1
        if err > worstError { worstError = err; worstWhere = "\(place): analytic \(analytic), numeric \(numeric)" }
    }
}

/// Central difference of `f` at `x[i]` with step h; nil when the estimates with h and h/2
/// disagree (a kink between them), so ReLU-like layers are checked away from their kinks.
func centralDifference(_ x: UnsafeMutablePointer<Float>, _ i: Int, h: Float, _ f: () -> Double) -> Double? {
    let saved = x[i]
    func diff(_ step: Float) -> Double {
        x[i] = saved + step
        let up = f()
        x[i] = saved - step
        let down = f()
        x[i] = saved
        return (up - down) / (2 * Double(step))
    }
    let d1 = diff(h), d2 = diff(h / 2)
    let scale = max(abs(d1), abs(d2), 1)
    if abs(d1 - d2) / scale > 0.05 { return nil }
    return d2
}

/// Checks a layer's backward against finite differences of L = Σ r ⊙ forward(x) for a fixed
/// random r: dL/dx and dL/dθ for every parameter (style: Caffe's GradientChecker).
public func checkGradients(of layer: any Layer, input: Tensor, h: Float = 1e-2, seed: UInt64 = 7) -> GradientReport {
    let batch = input.shape[0]
    layer.allocate(maxBatch: batch)
    let store = ParameterStore(layer.parameters)
    _ = store
    var rng = Xoshiro256(seed: seed, streamID: 99)
    let y0 = layer.forward(input, mode: .training)
    let r = (0..<y0.count).map { _ in rng.uniform(-1, 1) }
    func loss() -> Double {
        let y = layer.forward(input, mode: .training)
        var s = 0.0
        for i in 0..<y.count { s += Double(r[i]) * Double(y.pointer[i]) }
        return s
    }
    // Analytic gradients.
    let y = layer.forward(input, mode: .training)
    let dy = Tensor(shape: y.shape.dims, scalars: r)
    let dx = layer.backward(dy, needsInputGradient: true)
    let analyticX = dx?.scalars ?? []
    let analyticP = layer.parameters.map(\.grad.scalars)

    var report = GradientReport()
    for i in 0..<input.count {
        guard let n = centralDifference(input.pointer, i, h: h, loss) else { report.skipped += 1; continue }
        report.compare(Double(analyticX[i]), n, "input[\(i)]")
    }
    for (k, p) in layer.parameters.enumerated() {
        for i in 0..<p.value.count {
            guard let n = centralDifference(p.value.pointer, i, h: h, loss) else { report.skipped += 1; continue }
            report.compare(Double(analyticP[k][i]), n, "\(p.name)[\(i)]")
        }
    }
    return report
}

/// Checks a loss's gradient (of the batch mean) against finite differences on the outputs.
public func checkGradients(of lossFunction: any Loss, output: Tensor, targets: [Float], h: Float = 1e-2) -> GradientReport {
    let grad = Tensor(zeros: output.shape)
    targets.withUnsafeBufferPointer { t in _ = lossFunction.evaluate(output, targets: t.baseAddress!, gradient: grad) }
    func loss() -> Double {
        targets.withUnsafeBufferPointer { t in
            let r = lossFunction.evaluate(output, targets: t.baseAddress!, gradient: nil)
            return r.lossSum / r.weightSum
        }
    }
    var report = GradientReport()
    for i in 0..<output.count {
        guard let n = centralDifference(output.pointer, i, h: h, loss) else { report.skipped += 1; continue }
        report.compare(Double(grad.pointer[i]), n, "output[\(i)]")
    }
    return report
}

/// A tensor of uniform values in [low, high) from a seeded stream.
public func randomTensor(_ dims: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var rng = Xoshiro256(seed: seed, streamID: 77)
    let n = dims.reduce(1, *)
    return Tensor(shape: dims, scalars: (0..<n).map { _ in rng.uniform(low, high) })
}
