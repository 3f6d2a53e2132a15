import NNCore

/// The diagnostics the training notes ask for, per epoch and top-level layer (`layers.csv`):
/// - act_mean, act_std: of the layer's outputs over a pass in evaluation mode (the validation
///   split, else the first 1,000 training examples) — a std that shrinks layer after layer
///   means vanishing activations (too small an init), one that grows means saturation;
/// - dead_fraction: for ReLU outputs, the fraction of units that were 0 for every example of
///   that pass (dead ReLUs: a learning rate too high or a bad init);
/// - saturated_fraction: for sigmoid and tanh outputs, the fraction of the outputs of that pass
///   within `saturationMargin` of the function's bounds (saturated units: an init too large);
/// - grad_norm, weight_norm: ‖∇‖ and ‖W‖ of the layer's parameters after the epoch's last step;
/// - update_ratio: ‖ΔW‖/‖W‖ of that last step (the notes' rule of thumb: around 1e-3; much
///   higher, the learning rate is too high; much lower, too low).
public struct LayerDiagnostics: Sendable {
    public var layer: String
    public var type: String
    public var activationMean: Double
    public var activationStd: Double
    public var deadFraction: Double?
    public var saturatedFraction: Double?
    public var gradientNorm: Double?
    public var weightNorm: Double?
    public var updateRatio: Double?

    public static let header = "epoch,layer,type,act_mean,act_std,dead_fraction,saturated_fraction,grad_norm,weight_norm,update_ratio"

    /// An output counts as saturated within this distance of its activation's bound.
    public static let saturationMargin: Float = 0.01

    /// The bounds of a layer's outputs when they are sigmoid or tanh outputs, else nil.
    static func saturationBounds(_ spec: LayerSpec) -> (lower: Float, upper: Float)? {
        switch spec.kind.outputActivation {
        case .fused(.sigmoid), .layer("sigmoid"): return (0, 1)
        case .fused(.tanh), .layer("tanh"): return (-1, 1)
        default: return nil
        }
    }

    public func csv(epoch: Int) -> String {
        [String(epoch), layer, type, cell(activationMean), cell(activationStd), cell(deadFraction), cell(saturatedFraction),
         cell(gradientNorm), cell(weightNorm), cell(updateRatio)].joined(separator: ",")
    }
}

extension Trainer {
    /// Measures every top-level layer (see `LayerDiagnostics`). `before` holds the parameters
    /// from before the epoch's last step (nil: no update ratio).
    func diagnose(before: [Float]?, specs: [LayerSpec]) -> [LayerDiagnostics] {
        let split = (validation?.count ?? 0) > 0 ? validation! : DataSplit(dataset: train.dataset, indices: Array(train.indices.prefix(1000)))
        let layers = model.layers
        var sum = [Double](repeating: 0, count: layers.count), sq = sum, n = sum
        var alive: [[Bool]] = layers.map { [Bool](repeating: false, count: $0.outputShape.count) }
        let bounds = layers.indices.map { i in i < specs.count ? LayerDiagnostics.saturationBounds(specs[i]) : nil }
        var saturated = [Int](repeating: 0, count: layers.count)
        let margin = LayerDiagnostics.saturationMargin
        var start = 0
        let batch = min(evalBatchSize, 1000)
        while start < split.count {
            let b = min(batch, split.count - start)
            let x = inputBuffer.view(batch: b)
            preprocessor.fill(x, targets: targetStorage.base, from: split, start: start, batch: b, scratch: scratch)
            _ = model.forward(x, mode: .evaluation) { i, y in
                let p = y.pointer, width = y.count / b
                var s = 0.0, q = 0.0
                for r in 0..<b {
                    for j in 0..<width {
                        let v = p[r * width + j]
                        s += Double(v); q += Double(v) * Double(v)
                        if v != 0 { alive[i][j] = true }
                    }
                }
                sum[i] += s; sq[i] += q; n[i] += Double(y.count)
                if let (lo, hi) = bounds[i] {
                    for k in 0..<y.count where p[k] <= lo + margin || p[k] >= hi - margin { saturated[i] += 1 }
                }
            }
            start += b
        }
        let values = model.store.values.base, grads = model.store.grads.base
        var offset = 0
        var out: [LayerDiagnostics] = []
        for (i, l) in layers.enumerated() {
            let mean = sum[i] / max(n[i], 1)
            let std = max(0, sq[i] / max(n[i], 1) - mean * mean).squareRoot()
            let relu = i < specs.count && specs[i].isReLU
            let count = l.parameters.reduce(0) { $0 + $1.value.count }
            var g: Double? = nil, w: Double? = nil, u: Double? = nil
            if count > 0 {
                var gs = 0.0, ws = 0.0, ds = 0.0
                for k in offset..<(offset + count) {
                    gs += Double(grads[k]) * Double(grads[k])
                    ws += Double(values[k]) * Double(values[k])
                    if let before { let d = Double(values[k] - before[k]); ds += d * d }
                }
                g = gs.squareRoot(); w = ws.squareRoot()
                if before != nil, ws > 0 { u = ds.squareRoot() / ws.squareRoot() }
            }
            offset += count
            let dead = relu ? Double(alive[i].filter { !$0 }.count) / Double(max(alive[i].count, 1)) : nil
            let sat = bounds[i] != nil ? Double(saturated[i]) / max(n[i], 1) : nil
            out.append(LayerDiagnostics(layer: l.name, type: i < specs.count ? specs[i].typeName : "", activationMean: mean,
                                        activationStd: std, deadFraction: dead, saturatedFraction: sat, gradientNorm: g,
                                        weightNorm: w, updateRatio: u))
        }
        return out
    }
}
