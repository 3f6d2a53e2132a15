import NNCore
import Testing

@testable import NNTrain

// The exports of the sequence layers (RecurrentExport.swift, Embedding.swift, GlobalPool1D.swift):
// the ONNX nodes and tensors (gate order, lengths) and the PyTorch lines. ONNX Runtime and
// PyTorch run them against `nntrain predict` in `make test-interop`.

/// The float values of the initializer `name` of `graph`.
private func initializer(_ graph: ONNXGraph, _ name: String) -> [Float]? {
    for t in graph.initializers {
        guard let fields = Protobuf.fields(t),
              let n = fields.first(where: { $0.number == 8 }), String(decoding: t[n.bytes], as: UTF8.self) == name,
              let raw = fields.first(where: { $0.number == 9 }) else { continue }
        let bytes = Array(t[raw.bytes])
        return stride(from: 0, to: bytes.count, by: 4).map { i in
            Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * $1) })
        }
    }
    return nil
}

/// The node of `graph` running `op` (the first).
private func node(_ graph: ONNXGraph, _ op: String) -> (inputs: [String], attributes: [(String, ONNX.AttributeValue)])? {
    graph.nodes.first { $0.op == op }.map { ($0.inputs, $0.attributes) }
}

private func attribute(_ attributes: [(String, ONNX.AttributeValue)], _ name: String) -> ONNX.AttributeValue? {
    attributes.first { $0.0 == name }?.1
}

/// `values` with its `blocks` equal blocks taken in `order`.
private func blocks(_ values: [Float], _ order: [Int]) -> [Float] {
    let n = values.count / order.count
    return order.flatMap { values[$0 * n..<($0 + 1) * n] }
}

/// LSTM: W, R and B hold torch's tensors with the gates i, f, g, o as ONNX's i, o, f, c, per
/// direction (forward, then `_reverse`); the lengths, clamped to 1, are `sequence_lens`.
@Test func lstmONNXReordersGatesAndFeedsLengths() throws {
    let lstm = makeRecurrent(RecurrentSpec(cell: .lstm, hiddenSize: 2, bidirectional: true), steps: 3, features: 3)
    lstm.inputLengths = { fixedLengths([3, 0], steps: 3) }
    let g = ONNXGraph()
    _ = try lstm.exportONNX("x", to: g)
    let p = Dictionary(uniqueKeysWithValues: lstm.parameters.map { ($0.name, $0.value.scalars) })
    let order = [0, 3, 1, 2]
    #expect(initializer(g, "rnn.W_l0") == blocks(p["rnn.weight_ih_l0"]!, order) + blocks(p["rnn.weight_ih_l0_reverse"]!, order))
    #expect(initializer(g, "rnn.R_l0") == blocks(p["rnn.weight_hh_l0"]!, order) + blocks(p["rnn.weight_hh_l0_reverse"]!, order))
    #expect(initializer(g, "rnn.B_l0") == blocks(p["rnn.bias_ih_l0"]!, order) + blocks(p["rnn.bias_hh_l0"]!, order)
        + blocks(p["rnn.bias_ih_l0_reverse"]!, order) + blocks(p["rnn.bias_hh_l0_reverse"]!, order))
    let op = try #require(node(g, "LSTM"))
    #expect(op.inputs.count == 5 && op.inputs[1] == "rnn.W_l0" && op.inputs[3] == "rnn.B_l0")
    #expect(attribute(op.attributes, "direction") == .string("bidirectional") && attribute(op.attributes, "hidden_size") == .int(2))
    #expect(attribute(op.attributes, "layout") == nil, "layout 0: ONNX Runtime's CPU kernels refuse 1")
    // sequence_lens: Cast to int32 of Max(lengths, 1).
    let cast = try #require(g.nodes.first { $0.outputs == [op.inputs[4]] })
    #expect(cast.op == "Cast" && cast.attributes.first?.1 == .int(6))
    #expect(g.nodes.contains { $0.op == "Max" && $0.inputs.first == SequenceMasks.onnxLengths })
    // The final state: the forward direction at the last valid step, the reverse one at step 0.
    #expect(g.nodes.last?.op == "Reshape" && g.nodes.contains { $0.op == "Concat" })
}

/// GRU: z, r, h from torch's r, z, n, linear_before_reset 1; stacked layers are one op each, the
/// second on 2H features; without lengths or bias, three inputs and no mask.
@Test func gruONNXStacksLayersInONNXGateOrder() throws {
    let gru = makeRecurrent(RecurrentSpec(cell: .gru, hiddenSize: 2, numLayers: 2, bidirectional: true, returnSequences: true, bias: false),
                            steps: 4, features: 3)
    let g = ONNXGraph()
    let y = try gru.exportONNX("x", to: g)
    let ops = g.nodes.filter { $0.op == "GRU" }
    #expect(ops.count == 2 && ops.allSatisfy { $0.inputs.count == 3 })
    #expect(ops.allSatisfy { attribute($0.attributes, "linear_before_reset") == .int(1) })
    let w1 = try #require(initializer(g, "rnn.W_l1"))
    #expect(w1.count == 2 * 6 * 4)
    let p = Dictionary(uniqueKeysWithValues: gru.parameters.map { ($0.name, $0.value.scalars) })
    #expect(w1 == blocks(p["rnn.weight_ih_l1"]!, [1, 0, 2]) + blocks(p["rnn.weight_ih_l1_reverse"]!, [1, 0, 2]))
    #expect(!g.nodes.contains { $0.op == "Mul" || $0.op == "Less" }, "no lengths, no mask")
    #expect(g.nodes.last?.outputs == [y] && g.nodes.last?.op == "Reshape")
}

/// RNN with ReLU: the activation per direction; tanh is the op's default.
@Test func rnnONNXNamesItsActivation() throws {
    let relu = makeRecurrent(RecurrentSpec(cell: .rnnReLU, hiddenSize: 2, bidirectional: true), steps: 2, features: 2)
    let g = ONNXGraph()
    _ = try relu.exportONNX("x", to: g)
    #expect(node(g, "RNN").flatMap { attribute($0.attributes, "activations") } == .strings(["Relu", "Relu"]))
    let tanh = makeRecurrent(RecurrentSpec(cell: .rnnTanh, hiddenSize: 2), steps: 2, features: 2)
    let t = ONNXGraph()
    _ = try tanh.exportONNX("x", to: t)
    #expect(node(t, "RNN").map { attribute($0.attributes, "activations") == nil && attribute($0.attributes, "direction") == .string("forward") } == true)
}

/// torch.nn.LSTM/GRU/RNN with batch_first; packed with lengths (0 clamped to 1, zeroed after);
/// the final state from h_n.
@Test func recurrentTorchCodePacksWithLengths() throws {
    let lstm = makeRecurrent(RecurrentSpec(cell: .lstm, hiddenSize: 4, numLayers: 2, bidirectional: true), steps: 5, features: 3)
    lstm.inputLengths = { nil }
    let code = try lstm.exportTorch("self.layers[1]")
    #expect(code.module == "torch.nn.LSTM(3, 4, num_layers=2, bias=True, batch_first=True, bidirectional=True)")
    #expect(code.forward == [
        "x = torch.nn.utils.rnn.pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)",
        "x, state = self.layers[1](x)",
        "state = state[0]  # h_n of (h_n, c_n)",
        "x = torch.cat((state[-2], state[-1]), dim=1)  # the top layer's final states, forward then reverse",
        "x = x.masked_fill(lengths[:, None] == 0, 0.0)  # a sequence of length 0 gives 0",
    ])
    let gru = makeRecurrent(RecurrentSpec(cell: .gru, hiddenSize: 4, returnSequences: true), steps: 5, features: 3)
    #expect(try gru.exportTorch("self.layers[2]")
        == TorchCode(module: "torch.nn.GRU(3, 4, num_layers=1, bias=True, batch_first=True, bidirectional=False)",
                     forward: ["x, state = self.layers[2](x)"]))
    gru.inputLengths = { nil }
    #expect(try gru.exportTorch("self.layers[2]").forward[2] == "x = torch.nn.utils.rnn.pad_packed_sequence(x, batch_first=True, total_length=5)[0]")
    let rnn = makeRecurrent(RecurrentSpec(cell: .rnnReLU, hiddenSize: 4, bias: false), steps: 5, features: 3)
    let r = try rnn.exportTorch("self.layers[0]")
    #expect(r.module == "torch.nn.RNN(3, 4, num_layers=1, nonlinearity=\"relu\", bias=False, batch_first=True, bidirectional=False)")
    #expect(r.forward == ["x, state = self.layers[0](x)", "x = state[-1]  # the top layer's final state"])
    #expect(Set(rnn.parameters.map(\.name)) == ["rnn.weight_ih_l0", "rnn.weight_hh_l0"], "torch.nn.RNN's state_dict names")
}

/// Embedding: Gather at the ids (<unk> for other values); with padding_idx the lengths, which
/// the readers after it get; without, none.
@Test func embeddingExportsWriteLengthsOnlyWithPaddingIndex() throws {
    var rng = Xoshiro256(seed: 1, stream: .initialization)
    let padded = Embedding(name: "layers.0", steps: 6, numEmbeddings: 10, embeddingDim: 4, paddingIndex: 0,
                           initialization: .normal(mean: 0, std: 1), rng: &rng)
    let g = ONNXGraph()
    let y = try padded.exportONNX("input", to: g)
    #expect(node(g, "Gather").map { $0.inputs.first == "layers.0.weight" && attribute($0.attributes, "axis") == .int(0) } == true)
    #expect(initializer(g, "layers.0.weight") == padded.weight.value.scalars)
    #expect(g.nodes.contains { $0.op == "Where" } && g.nodes.contains { $0.op == "Cast" && $0.attributes.first?.1 == .int(7) })
    let lengths = try #require(g.nodes.first { $0.outputs == [SequenceMasks.onnxLengths] })
    #expect(lengths.op == "ReduceMax" && initializer(g, "layers.0.step_ends") == [1, 2, 3, 4, 5, 6])
    #expect(y != SequenceMasks.onnxLengths)
    let code = try padded.exportTorch("self.layers[0]")
    #expect(code.module == "torch.nn.Embedding(10, 4, padding_idx=0)")
    #expect(code.forward == [
        "x = torch.where((x >= 0) & (x < 10) & (x == x.floor()), x, 1.0).long()  # ids; <unk> for any other value",
        "lengths = ((x != 0) * torch.arange(1, 7, device=x.device)).amax(1)  # 1 + the last step whose id is not padding",
        "x = self.layers[0](x)",
    ])

    let plain = Embedding(name: "layers.0", steps: 6, numEmbeddings: 10, embeddingDim: 4, paddingIndex: nil,
                          initialization: .normal(mean: 0, std: 1), rng: &rng)
    let p = ONNXGraph()
    _ = try plain.exportONNX("input", to: p)
    #expect(!p.nodes.contains { $0.outputs == [SequenceMasks.onnxLengths] })
    #expect(try plain.exportTorch("self.layers[0]").forward.count == 2)
    // The readers after an embedding without padding_idx get no lengths (and export none).
    let rnn = makeRecurrent(RecurrentSpec(cell: .gru, hiddenSize: 2, returnSequences: true), steps: 6, features: 4)
    let pool = GlobalPool1D(name: "layers.2", steps: 6, features: 2, max: true)
    SequenceMasks.wire([plain, rnn, pool])
    #expect(rnn.inputLengths == nil && pool.inputLengths == nil)
    SequenceMasks.wire([padded, rnn, pool])
    #expect(rnn.inputLengths != nil && pool.inputLengths != nil)
}

/// Pooling over time: ReduceMean/ReduceMax without lengths; with them a mask from the lengths
/// (mean: masked sum times 1/max(length, 1); max: −∞ at padding, 0 for length 0).
@Test func poolingOverTimeExportsMaskWithLengths() throws {
    for isMax in [false, true] {
        let pool = GlobalPool1D(name: "layers.3", steps: 4, features: 2, max: isMax)
        let g = ONNXGraph()
        _ = try pool.exportONNX("x", to: g)
        #expect(g.nodes.map(\.op) == [isMax ? "ReduceMax" : "ReduceMean"])
        #expect(try pool.exportTorch("self.layers[3]").forward == [isMax ? "x = x.amax(dim=1)" : "x = x.mean(dim=1)"])
        pool.inputLengths = { nil }
        let m = ONNXGraph()
        _ = try pool.exportONNX("x", to: m)
        #expect(m.nodes.contains { $0.op == "Less" && $0.inputs.first == "layers.3.positions" })
        #expect(m.nodes.last?.op == (isMax ? "Where" : "Mul"))
        #expect(initializer(m, "layers.3.positions") == [0, 1, 2, 3])
        let line = try pool.exportTorch("self.layers[3]").forward[0]
        #expect(line.contains("(torch.arange(4, device=x.device) < lengths[:, None])[:, :, None]"), "\(line)")
        #expect(line.contains(isMax ? "masked_fill(lengths[:, None] == 0, 0.0)" : "* (1 / lengths.clamp(min=1))[:, None]"), "\(line)")
    }
}
