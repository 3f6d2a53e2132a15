import NNCore

/// `{"type": "global_average_pool1d"}` / `{"type": "global_max_pool1d"}`: a sequence `[T, F]`
/// → `[F]`, each feature's mean or maximum over the valid steps of its sequence (Keras
/// GlobalAveragePooling1D/GlobalMaxPooling1D with a mask; `GlobalPool1D`). A sequence with no
/// valid step gives 0. No parameters.
public struct GlobalPool1DSpec: LayerKind {
    public var max: Bool

    public init(max: Bool) { self.max = max }

    public static let typeNames = ["global_average_pool1d", "global_max_pool1d"]

    public static func read(_ r: ObjectReader, type: String) -> GlobalPool1DSpec { GlobalPool1DSpec(max: type == "global_max_pool1d") }

    public var typeName: String { Self.typeNames[max ? 1 : 0] }
    public var linearity: Linearity { max ? .nonlinear : .linear }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        guard model.needSequence(shape, typeName, at: site) else { return nil }
        return LayerPlan(output: [shape[1]], description: "\(typeName) over \(shape[0]) steps")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        GlobalPool1D(name: site.name, steps: shape[0], features: shape[1], max: max)
    }
}

/// Pooling over time: y[f] = mean or max of x[t, f] over t < length (all T without lengths).
/// Backward spreads dy evenly over the valid steps (mean) or to the first step holding the
/// maximum (max).
public final class GlobalPool1D: Layer, SequenceLengthReader {
    public let name: String
    public let steps: Int
    public let features: Int
    public let max: Bool
    public let outputShape: Shape
    var inputLengths: (() -> SequenceLengths?)?
    var keepsSteps: Bool { false }
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var argmax: UnsafeMutablePointer<Int32>?
    private var lastBatch = 0
    private var lastLengths: UnsafePointer<Int32>?

    public init(name: String, steps: Int, features: Int, max: Bool) {
        self.name = name
        self.steps = steps
        self.features = features
        self.max = max
        outputShape = Shape([features])
    }

    deinit { argmax?.deallocate() }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample([features]), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample([steps, features]), maxBatch: maxBatch)
        argmax?.deallocate()
        argmax = .allocate(capacity: maxBatch * features)
    }

    @inline(__always) private func length(_ b: Int) -> Int { lastLengths.map { Int($0[b]) } ?? steps }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        lastBatch = batch
        lastLengths = (inputLengths?()).map { UnsafePointer($0.lengths) }
        let y = output.view(batch: batch)
        let x = input.pointer, out = y.pointer, am = argmax!
        for b in 0..<batch {
            let n = length(b), o = out + b * features
            o.update(repeating: 0, count: features)
            guard n > 0 else { continue }
            let xb = x + b * steps * features
            if max {
                for f in 0..<features { o[f] = xb[f]; am[b * features + f] = 0 }
                for t in 1..<Swift.max(n, 1) {
                    let row = xb + t * features
                    for f in 0..<features where row[f] > o[f] { o[f] = row[f]; am[b * features + f] = Int32(t) }
                }
            } else {
                for t in 0..<n {
                    let row = xb + t * features
                    for f in 0..<features { o[f] += row[f] }
                }
                let inv = 1 / Float(n)
                for f in 0..<features { o[f] *= inv }
            }
        }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let batch = lastBatch
        let dx = inputGrad.view(batch: batch)
        let d = dx.pointer, g = outputGrad.pointer, am = argmax!
        d.update(repeating: 0, count: batch * steps * features)
        for b in 0..<batch {
            let n = length(b)
            guard n > 0 else { continue }
            let gb = g + b * features, db = d + b * steps * features
            if max {
                for f in 0..<features { db[Int(am[b * features + f]) * features + f] = gb[f] }
            } else {
                let inv = 1 / Float(n)
                for t in 0..<n { for f in 0..<features { db[t * features + f] = gb[f] * inv } }
            }
        }
        return dx
    }
}

extension GlobalPool1D {
    /// ReduceMean/ReduceMax over the steps; with lengths, the sum of the valid steps times
    /// 1/max(length, 1), or the maximum of the valid steps (the others −∞) and 0 for length 0.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        let g = graph
        guard inputLengths != nil else {
            return g.add(max ? "ReduceMax" : "ReduceMean", [input], name: name, attributes: [("axes", .ints([1])), ("keepdims", .int(0))])
        }
        let valid = g.add("Unsqueeze", [SequenceMasks.onnxValidSteps(steps, name: name, in: g), g.constant(name + ".feature_axis", int64s: [2])],
                          name: name)  // [N, T, 1]
        let column = SequenceMasks.onnxLengthColumn(name: name, in: g)
        if max {
            let filled = g.add("Where", [valid, input, g.constant(name + ".minus_infinity", dims: [], [-.infinity])], name: name)
            let y = g.add("ReduceMax", [filled], name: name, attributes: [("axes", .ints([1])), ("keepdims", .int(0))])
            let some = g.add("Greater", [column, g.constant(name + ".zero", dims: [], [0])], name: name)
            return g.add("Where", [some, y, g.constant(name + ".empty", dims: [], [0])], name: name)
        }
        let kept = g.add("Mul", [input, g.add("Cast", [valid], name: name, attributes: [("to", .int(ONNX.DataType.float.rawValue))])], name: name)
        let sum = g.add("ReduceSum", [kept, g.constant(name + ".step_axis", int64s: [1])], name: name, attributes: [("keepdims", .int(0))])
        let count = g.add("Max", [column, g.constant(name + ".one", dims: [], [1])], name: name)
        return g.add("Mul", [sum, g.add("Reciprocal", [count], name: name)], name: name)
    }

    /// The mean or maximum over dim 1; with lengths, over the valid steps (0 for length 0).
    /// The module is an Identity: the work is in `forward`.
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        guard inputLengths != nil else {
            return TorchCode(module: "torch.nn.Identity()", forward: [max ? "x = x.amax(dim=1)" : "x = x.mean(dim=1)"])
        }
        let valid = SequenceMasks.torchValidSteps(steps) + "[:, :, None]"
        let lengths = SequenceMasks.torchLengths
        let line = max
            ? "x = x.masked_fill(~\(valid), float(\"-inf\")).amax(dim=1).masked_fill(\(lengths)[:, None] == 0, 0.0)"
            : "x = (x * \(valid)).sum(dim=1) * (1 / \(lengths).clamp(min=1))[:, None]"
        return TorchCode(module: "torch.nn.Identity()", forward: [line + "  # over the valid steps"])
    }
}
