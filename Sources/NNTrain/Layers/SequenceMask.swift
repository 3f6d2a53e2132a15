import NNCore

/// The valid length of each sequence of a batch, beside the tensor that flows between layers:
/// an embedding with `padding_idx` writes it on each forward (the steps after the last
/// non-padding id are padding), and the layers after it that read sequences — recurrent layers
/// and the pooling over time — skip those steps, as `torch.nn.utils.rnn.pack_padded_sequence`
/// does (Keras: `mask_zero`). Without a writer every step is valid.
public final class SequenceLengths {
    public let maxBatch: Int
    /// The number of steps of the sequences it describes.
    public let steps: Int
    /// `lengths[b]` in 0...steps for the batch of the last forward.
    public let lengths: UnsafeMutablePointer<Int32>

    public init(maxBatch: Int, steps: Int) {
        self.maxBatch = maxBatch
        self.steps = steps
        lengths = .allocate(capacity: max(1, maxBatch))
        lengths.initialize(repeating: Int32(steps), count: max(1, maxBatch))
    }

    deinit { lengths.deallocate() }

    /// Steps `0..<length(b)` of sequence b are valid.
    @inline(__always) public func length(_ b: Int) -> Int { Int(lengths[b]) }
}

/// A layer whose output is a sequence with padded steps (an embedding with `padding_idx`).
protocol SequenceLengthWriter: Layer {
    /// Valid after `allocate`; written by each forward.
    var sequenceLengths: SequenceLengths? { get }
    /// Whether it writes lengths at all (an embedding: with `padding_idx`); known before
    /// `allocate`, so the readers of a model that has none get no lengths (and export none).
    var writesLengths: Bool { get }
}

/// A layer that reads the valid lengths of its input sequences (recurrent layers, pooling over
/// time). `Model.build` hands it those of the nearest writer before it, as long as every layer
/// between keeps the time axis; nil means every step is valid.
protocol SequenceLengthReader: Layer {
    var inputLengths: (() -> SequenceLengths?)? { get set }
    /// Whether this layer's output is still a sequence of the same steps (a recurrent layer with
    /// `return_sequences`), so the lengths pass on to the layers after it.
    var keepsSteps: Bool { get }
}

enum SequenceMasks {
    /// Hands each reader the lengths of the nearest writer before it, through layers whose
    /// output keeps the writer's number of steps as its first axis (layer norm, dropout,
    /// activations, recurrent layers returning sequences); any other layer ends the mask.
    static func wire(_ layers: [any Layer]) {
        var source: (any SequenceLengthWriter)?
        var steps = 0
        for layer in layers {
            if var reader = layer as? any SequenceLengthReader {
                if let source {
                    reader.inputLengths = { [weak source] in source?.sequenceLengths }
                } else {
                    reader.inputLengths = nil
                }
                if !reader.keepsSteps { source = nil }
            }
            if let writer = layer as? any SequenceLengthWriter {
                source = writer.writesLengths ? writer : nil
                steps = writer.outputShape.dims.first ?? 0
                continue
            }
            let dims = layer.outputShape.dims
            if dims.count != 2 || dims[0] != steps { source = nil }
        }
    }
}

extension SequenceMasks {
    /// The ONNX value, float `[N]`, holding each sequence's valid length: an exported embedding
    /// with `padding_idx` computes it from the ids (`Embedding.exportONNX`), and the exported
    /// readers after it (`inputLengths` set) use it.
    static let onnxLengths = "sequence_lengths"

    /// `[N, 1]`: the lengths as a column, to broadcast against the steps.
    static func onnxLengthColumn(name: String, in graph: ONNXGraph) -> String {
        graph.add("Reshape", [onnxLengths, graph.constant(name + ".column", int64s: [-1, 1])], name: name)
    }

    /// `[T]` float: the step indices 0..<T.
    static func onnxPositions(_ steps: Int, name: String, in graph: ONNXGraph) -> String {
        graph.constant(name + ".positions", dims: [steps], (0..<steps).map(Float.init))
    }

    /// `[N, T]` bool: whether step t of sequence n is valid (t < length).
    static func onnxValidSteps(_ steps: Int, name: String, in graph: ONNXGraph) -> String {
        graph.add("Less", [onnxPositions(steps, name: name, in: graph), onnxLengthColumn(name: name, in: graph)], name: name)
    }

    /// The variable of the exported `Model.forward`, int64 `[N]`, holding the lengths (set by
    /// the embedding's lines, read by the readers').
    static let torchLengths = "lengths"

    /// `[N, T]` bool, in Python: whether step t of sequence n is valid.
    static func torchValidSteps(_ steps: Int) -> String {
        "(torch.arange(\(steps), device=x.device) < \(torchLengths)[:, None])"
    }
}
