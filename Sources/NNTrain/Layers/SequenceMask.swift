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
    static func wire(_ layers: [any Layer], input: [Int]) {
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
                source = writer
                steps = writer.outputShape.dims.first ?? 0
                continue
            }
            let dims = layer.outputShape.dims
            if dims.count != 2 || dims[0] != steps { source = nil }
        }
    }
}
