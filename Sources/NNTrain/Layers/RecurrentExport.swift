import NNCore

// `Recurrent` in evaluation mode (every dropout the identity) as ONNX and PyTorch.
//
// ONNX (opset 17): one LSTM/GRU/RNN op per stacked layer, time-major (layout 0: ONNX Runtime's
// CPU kernels refuse layout 1), so the input is transposed to [T, N, F] once and each op's Y
// [T, D, N, H] becomes the next op's [T, N, D·H]. W [D, G·H, F], R [D, G·H, H] and
// B [D, 2·G·H] (the W-side bias, then the R-side) hold torch's tensors with the gate blocks in
// ONNX's order (LSTM i,o,f,c from torch's i,f,g,o; GRU z,r,h from r,z,n, with
// linear_before_reset 1 as torch computes n). With lengths, `sequence_lens` is the lengths
// clamped to at least 1 (a runtime may refuse 0), and the outputs of the steps past a length,
// and every output of a sequence of length 0, are zeroed by the valid-step mask, as nntrain
// gives them. The final state is read off Y (the op's Y_h would be the same numbers): the
// forward direction's output at step length − 1, the reverse direction's at step 0.
//
// PyTorch: torch.nn.LSTM/GRU/RNN with batch_first, whose parameters are nntrain's
// (`weight_ih_l0`, …, `_reverse`). With lengths the input goes through
// pack_padded_sequence(enforce_sorted=False) with the lengths clamped to at least 1 (torch
// refuses 0), the outputs through pad_packed_sequence(total_length=T), and the rows of
// length 0 are zeroed; the final state is the top layer's of h_n, forward then reverse.

extension RecurrentCell {
    /// The ONNX operator.
    var onnxOperator: String {
        switch self {
        case .lstm: return "LSTM"
        case .gru: return "GRU"
        case .rnnTanh, .rnnReLU: return "RNN"
        }
    }

    /// ONNX's gate blocks as indices into torch's: ONNX block k is torch's block `onnxGateOrder[k]`.
    var onnxGateOrder: [Int] {
        switch self {
        case .lstm: return [0, 3, 1, 2]  // i, o, f, c ← i, f, g, o
        case .gru: return [1, 0, 2]  // z, r, h ← r, z, n
        case .rnnTanh, .rnnReLU: return [0]
        }
    }

    /// The torch.nn module class.
    var torchModule: String {
        switch self {
        case .lstm: return "torch.nn.LSTM"
        case .gru: return "torch.nn.GRU"
        case .rnnTanh, .rnnReLU: return "torch.nn.RNN"
        }
    }
}

extension RecurrentUnit {
    /// `values` (`[G·H]` or `[G·H, k]`, torch's gate order) with the gate blocks in ONNX's order.
    func onnxOrder(_ values: [Float]) -> [Float] {
        let block = values.count / cell.gates
        return cell.onnxGateOrder.flatMap { values[$0 * block..<($0 + 1) * block] }
    }
}

extension Recurrent {
    /// One ONNX recurrent op per layer on the time-major sequence; see the file's comment.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        let g = graph, h = spec.hiddenSize, d = spec.directions, gates = spec.cell.gates * h
        let masked = inputLengths != nil
        let toFloat: [(String, ONNX.AttributeValue)] = [("to", .int(ONNX.DataType.float.rawValue))]
        var lengths = ""
        if masked {
            let atLeastOne = g.add("Max", [SequenceMasks.onnxLengths, g.constant(name + ".one", dims: [], [1])], name: name)
            lengths = g.add("Cast", [atLeastOne], name: name, attributes: [("to", .int(6))])  // int32
        }
        var attributes: [(String, ONNX.AttributeValue)] = [
            ("hidden_size", .int(h)), ("direction", .string(spec.bidirectional ? "bidirectional" : "forward")),
        ]
        if spec.cell == .gru { attributes.append(("linear_before_reset", .int(1))) }
        if spec.cell == .rnnReLU { attributes.append(("activations", .strings(Array(repeating: "Relu", count: d)))) }

        var x = g.add("Transpose", [input], name: name, attributes: [("perm", .ints([1, 0, 2]))])  // [T, N, F]
        var y = x
        for (l, layer) in units.enumerated() {
            let f = layer[0].features
            let w = g.constant("\(name).W_l\(l)", dims: [d, gates, f], layer.flatMap { $0.onnxOrder($0.weightIH.value.scalars) })
            let r = g.constant("\(name).R_l\(l)", dims: [d, gates, h], layer.flatMap { $0.onnxOrder($0.weightHH.value.scalars) })
            var inputs = [x, w, r]
            if spec.bias {
                let b = layer.flatMap { u in
                    u.onnxOrder(u.biasIH?.value.scalars ?? []) + u.onnxOrder(u.biasHH?.value.scalars ?? [])
                }
                inputs.append(g.constant("\(name).B_l\(l)", dims: [d, 2 * gates], b))
            } else if masked {
                inputs.append("")  // no B
            }
            if masked { inputs.append(lengths) }
            y = g.add(spec.cell.onnxOperator, inputs, name: "\(name).l\(l)", attributes: attributes)  // [T, D, N, H]
            if l < units.count - 1 {
                let steps = g.add("Transpose", [y], name: name, attributes: [("perm", .ints([0, 2, 1, 3]))])
                x = g.add("Reshape", [steps, g.constant(name + ".time_major", int64s: [0, 0, -1])], name: name)
            }
        }
        var out = g.add("Transpose", [y], name: name, attributes: [("perm", .ints([2, 0, 1, 3]))])  // [N, T, D, H]
        // [N, T] → [N, T, 1, 1], to broadcast over directions and units.
        let cell = masked ? g.constant(name + ".cell", int64s: [0, 0, 1, 1]) : ""
        if masked {
            let valid = g.add("Cast", [SequenceMasks.onnxValidSteps(steps, name: name, in: g)], name: name, attributes: toFloat)
            out = g.add("Mul", [out, g.add("Reshape", [valid, cell], name: name)], name: name)
        }
        if spec.returnSequences {
            return g.add("Reshape", [out, g.constant(name + ".sequence", int64s: [0, 0, -1])], name: name)
        }
        // The final states [N, 1, D, H]: the forward direction after the last valid step…
        var last: String
        if masked {
            let column = SequenceMasks.onnxLengthColumn(name: name, in: g)
            let lastStep = g.add("Sub", [column, g.constant(name + ".one", dims: [], [1])], name: name)
            let isLast = g.add("Equal", [SequenceMasks.onnxPositions(steps, name: name, in: g), lastStep], name: name)
            let pick = g.add("Reshape", [g.add("Cast", [isLast], name: name, attributes: toFloat), cell], name: name)
            last = g.add("ReduceSum", [g.add("Mul", [out, pick], name: name), g.constant(name + ".step_axis", int64s: [1])], name: name,
                         attributes: [("keepdims", .int(1))])
        } else {
            last = g.add("Gather", [out, g.constant(name + ".last_step", int64s: [steps - 1])], name: name, attributes: [("axis", .int(1))])
        }
        var state = g.add("Gather", [last, g.constant(name + ".forward", int64s: [0])], name: name, attributes: [("axis", .int(2))])
        if spec.bidirectional {
            // … and the reverse direction after step 0.
            let first = g.add("Gather", [out, g.constant(name + ".first_step", int64s: [0])], name: name, attributes: [("axis", .int(1))])
            let reverse = g.add("Gather", [first, g.constant(name + ".reverse", int64s: [1])], name: name, attributes: [("axis", .int(2))])
            state = g.add("Concat", [state, reverse], name: name, attributes: [("axis", .int(2))])
        }
        return g.add("Reshape", [state, g.constant(name + ".state", int64s: [0, -1])], name: name)  // [N, D·H]
    }

    /// torch.nn.LSTM/GRU/RNN(batch_first=True); see the file's comment.
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        var args = "\(features), \(spec.hiddenSize), num_layers=\(spec.numLayers)"
        if spec.cell == .rnnReLU { args += ", nonlinearity=\"relu\"" }
        args += ", bias=\(spec.bias ? "True" : "False"), batch_first=True, bidirectional=\(spec.bidirectional ? "True" : "False")"
        let lengths = SequenceMasks.torchLengths
        var lines: [String] = []
        if inputLengths != nil {
            lines.append("x = torch.nn.utils.rnn.pack_padded_sequence(x, \(lengths).clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)")
        }
        lines.append("x, state = \(module)(x)")
        if spec.returnSequences {
            if inputLengths != nil {
                lines.append("x = torch.nn.utils.rnn.pad_packed_sequence(x, batch_first=True, total_length=\(steps))[0]")
            }
        } else {
            if spec.cell == .lstm { lines.append("state = state[0]  # h_n of (h_n, c_n)") }
            lines.append(spec.bidirectional
                ? "x = torch.cat((state[-2], state[-1]), dim=1)  # the top layer's final states, forward then reverse"
                : "x = state[-1]  # the top layer's final state")
        }
        if inputLengths != nil {
            let index = spec.returnSequences ? "[:, None, None]" : "[:, None]"
            lines.append("x = x.masked_fill(\(lengths)\(index) == 0, 0.0)  # a sequence of length 0 gives 0")
        }
        return TorchCode(module: "\(spec.cell.torchModule)(\(args))", forward: lines)
    }
}
