import NNCore

/// `{"type": "embedding", "num_embeddings": 10000, "embedding_dim": 64, "padding_idx": 0}`:
/// token ids `[T]` → vectors `[T, embedding_dim]`, row `id` of the weight `[num_embeddings,
/// embedding_dim]` (`Embedding`, torch.nn.Embedding). The first layer of a model whose input is
/// token ids (`data.text.representation: "sequence"`). Parameters: num_embeddings·embedding_dim.
public struct EmbeddingSpec: LayerKind {
    public var numEmbeddings: Int
    public var embeddingDim: Int
    /// The id of padding: its row starts at 0 and is never trained, and the steps after a
    /// sequence's last other id are padding for the layers after (`SequenceLengths`).
    public var paddingIndex: Int?
    public var layerOptions: LayerOptions

    public init(numEmbeddings: Int, embeddingDim: Int, paddingIndex: Int? = nil, options: LayerOptions = LayerOptions()) {
        self.numEmbeddings = numEmbeddings
        self.embeddingDim = embeddingDim
        self.paddingIndex = paddingIndex
        layerOptions = options
    }

    public static let typeNames = ["embedding"]

    public static func read(_ r: ObjectReader, type: String) -> EmbeddingSpec {
        let n = r.int("num_embeddings", default: 1, check: .closed(1, 16_777_216))
        if !r.has("num_embeddings") { r.diagnostics.error(r.childPath("num_embeddings"), "missing required key (expected the vocabulary size, e.g. data.text.max_size)") }
        let d = r.int("embedding_dim", default: 1, check: .closed(1, 65_536))
        if !r.has("embedding_dim") { r.diagnostics.error(r.childPath("embedding_dim"), "missing required key (expected integer >= 1)") }
        let pad = r.optionalInt("padding_idx", check: .closed(0, Double(max(0, n - 1))))
        let options = LayerOptions.read(r, hasBias: false)
        return EmbeddingSpec(numEmbeddings: n, embeddingDim: d, paddingIndex: pad, options: options)
    }

    public var options: LayerOptions? { layerOptions }
    public var linearity: Linearity { .nonlinear }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        guard shape.count == 1, site.depth == 0, site.index == 0 else {
            model.errors.append(ConfigError(path: site.path, message: "embedding takes token ids: it must be the first layer, on model.input [steps] (data.text.representation \"sequence\"), got shape \(shape)" + (site.index == 0 ? "" : " at position \(site.index)")))
            return nil
        }
        let pad = paddingIndex.map { ", padding_idx \($0)" } ?? ""
        return LayerPlan(output: [shape[0], embeddingDim], parameters: numEmbeddings * embeddingDim,
                         description: "embedding \(numEmbeddings)×\(embeddingDim)\(pad)")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        Embedding(name: site.name, steps: shape[0], numEmbeddings: numEmbeddings, embeddingDim: embeddingDim,
                  paddingIndex: paddingIndex, initialization: layerOptions.initialization ?? .normal(mean: 0, std: 1), rng: &rng)
    }
}

/// A lookup table (torch.nn.Embedding): y[t] = W[id_t]. The ids arrive as floats; one that is
/// not a whole number in 0..<num_embeddings (which the data checks exclude before training)
/// reads row 1 (`<unk>`), or row 0 when there is only one. Backward adds each step's gradient to
/// its id's row (never to `padding_idx`'s) and returns no input gradient.
public final class Embedding: Layer, SequenceLengthWriter {
    public let name: String
    public let steps: Int
    public let numEmbeddings: Int
    public let embeddingDim: Int
    public let paddingIndex: Int?
    public let weight: Parameter
    public let outputShape: Shape
    private var output: BatchBuffer!
    private var ids: UnsafeMutablePointer<Int32>?
    private var lastBatch = 0
    public private(set) var sequenceLengths: SequenceLengths?
    var writesLengths: Bool { paddingIndex != nil }

    public init(name: String, steps: Int, numEmbeddings: Int, embeddingDim: Int, paddingIndex: Int?, initialization: InitSpec,
                rng: inout Xoshiro256) {
        self.name = name
        self.steps = steps
        self.numEmbeddings = numEmbeddings
        self.embeddingDim = embeddingDim
        self.paddingIndex = paddingIndex
        let w = Tensor(zeros: [numEmbeddings, embeddingDim])
        initialization.fill(w, fanIn: numEmbeddings, fanOut: embeddingDim, rng: &rng)
        if let p = paddingIndex { (w.pointer + p * embeddingDim).update(repeating: 0, count: embeddingDim) }
        weight = Parameter(name: name + ".weight", value: w, decays: true, rows: numEmbeddings)
        outputShape = Shape([steps, embeddingDim])
    }

    deinit { ids?.deallocate() }

    public var parameters: [Parameter] { [weight] }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample([steps, embeddingDim]), maxBatch: maxBatch)
        ids?.deallocate()
        ids = .allocate(capacity: maxBatch * steps)
        if paddingIndex != nil { sequenceLengths = SequenceLengths(maxBatch: maxBatch, steps: steps) }
    }

    /// The row that the stored value `v` reads (`<unk>` for anything out of range).
    @inline(__always) func row(_ v: Float) -> Int32 {
        let fallback: Int32 = numEmbeddings > 1 ? 1 : 0
        guard v.isFinite, v >= 0, v < Float(numEmbeddings), v == v.rounded() else { return fallback }
        return Int32(v)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        lastBatch = batch
        let y = output.view(batch: batch)
        let x = input.pointer, out = y.pointer, w = weight.value.pointer, id = ids!
        for i in 0..<(batch * steps) {
            let r = row(x[i])
            id[i] = r
            (out + i * embeddingDim).update(from: w + Int(r) * embeddingDim, count: embeddingDim)
        }
        if let pad = paddingIndex.map(Int32.init), let lengths = sequenceLengths {
            for b in 0..<batch {
                var n = steps
                while n > 0 && id[b * steps + n - 1] == pad { n -= 1 }
                lengths.lengths[b] = Int32(n)
            }
        }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        let dw = weight.grad.pointer, dy = outputGrad.pointer, id = ids!
        dw.update(repeating: 0, count: numEmbeddings * embeddingDim)
        let pad = paddingIndex.map(Int32.init) ?? -1
        for i in 0..<(lastBatch * steps) where id[i] != pad {
            let row = dw + Int(id[i]) * embeddingDim, g = dy + i * embeddingDim
            for j in 0..<embeddingDim { row[j] += g[j] }
        }
        return nil
    }
}

extension Embedding {
    /// Gather on the weight `[num_embeddings, embedding_dim]` at the ids cast to int64, a value
    /// that is no id (not a whole number in 0..<num_embeddings) read as `<unk>` as in `row(_:)`.
    /// With `padding_idx`, also the lengths `SequenceMasks.onnxLengths`, float `[N]`:
    /// ReduceMax over t of (t + 1)·(id_t ≠ padding_idx), 0 for a sequence of padding alone.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        let g = graph
        let fallback: Float = numEmbeddings > 1 ? 1 : 0
        let whole = g.add("Equal", [input, g.add("Floor", [input], name: name)], name: name)
        let nonNegative = g.add("GreaterOrEqual", [input, g.constant(name + ".zero", dims: [], [0])], name: name)
        let below = g.add("Less", [input, g.constant(name + ".num_embeddings", dims: [], [Float(numEmbeddings)])], name: name)
        let valid = g.add("And", [g.add("And", [nonNegative, below], name: name), whole], name: name)
        let rows = g.add("Where", [valid, input, g.constant(name + ".unknown", dims: [], [fallback])], name: name)
        let ids = g.add("Cast", [rows], name: name, attributes: [("to", .int(ONNX.DataType.int64.rawValue))])
        let w = g.constant(weight.name, dims: [numEmbeddings, embeddingDim], weight.value.scalars)
        let y = g.add("Gather", [w, ids], name: name, attributes: [("axis", .int(0))])
        if let p = paddingIndex {
            let padding = g.add("Equal", [rows, g.constant(name + ".padding_idx", dims: [], [Float(p)])], name: name)
            let real = g.add("Cast", [g.add("Not", [padding], name: name)], name: name, attributes: [("to", .int(ONNX.DataType.float.rawValue))])
            let ends = g.constant(name + ".step_ends", dims: [steps], (1...steps).map(Float.init))
            let lengths = g.add("ReduceMax", [g.add("Mul", [real, ends], name: name)], name: name,
                                attributes: [("axes", .ints([1])), ("keepdims", .int(0))])
            _ = g.rename(lengths, to: SequenceMasks.onnxLengths)
        }
        return y
    }

    /// `torch.nn.Embedding(n, d, padding_idx=…)` on the ids as int64 (`<unk>` for a value that
    /// is no id); with `padding_idx`, first the lengths (`SequenceMasks.torchLengths`).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let fallback = numEmbeddings > 1 ? 1 : 0
        var lines = ["x = torch.where((x >= 0) & (x < \(numEmbeddings)) & (x == x.floor()), x, \(fallback).0).long()  # ids; <unk> for any other value"]
        var m = "torch.nn.Embedding(\(numEmbeddings), \(embeddingDim)"
        if let p = paddingIndex {
            m += ", padding_idx=\(p)"
            lines.append("\(SequenceMasks.torchLengths) = ((x != \(p)) * torch.arange(1, \(steps + 1), device=x.device)).amax(1)  # 1 + the last step whose id is not padding")
        }
        lines.append("x = \(module)(x)")
        return TorchCode(module: m + ")", forward: lines)
    }
}
