import NNCore

/// `{"type": "lstm", "hidden_size": 128}` (also `gru`, and `rnn` with `nonlinearity` tanh or
/// relu): a recurrent layer on a sequence `[T, F]` (`Recurrent`), torch.nn.LSTM/GRU/RNN with
/// `batch_first`: `num_layers` stacked, `bidirectional`, and `return_sequences` (Keras) choosing
/// the output `[T, D·H]` (every step) or `[D·H]` (the final state: the forward direction after
/// the last valid step, the backward one after step 0, torch's `h_n`). Variational dropout
/// (one mask per sequence, reused at every step): `input_dropout` on the first layer's inputs,
/// `dropout` on each later layer's, `recurrent_dropout` on the state entering W_hh.
/// Parameters per layer and direction: G·H·(F + H) + 2·G·H, G = 4 (lstm), 3 (gru), 1 (rnn).
public struct RecurrentSpec: LayerKind {
    public var cell: RecurrentCell
    public var hiddenSize: Int
    public var numLayers: Int
    public var bidirectional: Bool
    public var returnSequences: Bool
    public var bias: Bool
    public var dropout: Float
    public var recurrentDropout: Float
    public var inputDropout: Float
    public var layerOptions: LayerOptions

    public init(cell: RecurrentCell, hiddenSize: Int, numLayers: Int = 1, bidirectional: Bool = false, returnSequences: Bool = false,
                bias: Bool = true, dropout: Float = 0, recurrentDropout: Float = 0, inputDropout: Float = 0,
                options: LayerOptions = LayerOptions()) {
        self.cell = cell
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.returnSequences = returnSequences
        self.bias = bias
        self.dropout = dropout
        self.recurrentDropout = recurrentDropout
        self.inputDropout = inputDropout
        layerOptions = options
    }

    public static let typeNames = ["rnn", "lstm", "gru"]

    public static func read(_ r: ObjectReader, type: String) -> RecurrentSpec {
        let h = r.int("hidden_size", default: 1, check: .closed(1, 65_536))
        if !r.has("hidden_size") { r.diagnostics.error(r.childPath("hidden_size"), "missing required key (expected integer >= 1)") }
        var cell = RecurrentCell.lstm
        switch type {
        case "gru": cell = .gru
        case "rnn": cell = r.choice("nonlinearity", ["tanh", "relu"], default: "tanh") == "relu" ? .rnnReLU : .rnnTanh
        default: break
        }
        let layers = r.int("num_layers", default: 1, check: .closed(1, 64))
        let bidirectional = r.bool("bidirectional", default: false)
        let returnSequences = r.bool("return_sequences", default: false)
        let bias = r.bool("bias", default: true)
        let dropout = r.float("dropout", default: 0, check: .halfOpen(0, 1))
        let recurrent = r.float("recurrent_dropout", default: 0, check: .halfOpen(0, 1))
        let input = r.float("input_dropout", default: 0, check: .halfOpen(0, 1))
        if layers == 1 && dropout > 0 {
            r.diagnostics.warning(r.childPath("dropout"), "dropout acts between stacked layers; with num_layers 1 it does nothing (input_dropout drops the inputs)")
        }
        return RecurrentSpec(cell: cell, hiddenSize: h, numLayers: layers, bidirectional: bidirectional, returnSequences: returnSequences,
                             bias: bias, dropout: dropout, recurrentDropout: recurrent, inputDropout: input,
                             options: LayerOptions.read(r, hasBias: bias))
    }

    public var typeName: String { cell.typeName }
    public var options: LayerOptions? { layerOptions }

    var directions: Int { bidirectional ? 2 : 1 }

    /// Parameters on `features` inputs per step.
    func parameterCount(features: Int) -> Int {
        let g = cell.gates * hiddenSize
        var n = 0
        for l in 0..<numLayers {
            let f = l == 0 ? features : directions * hiddenSize
            n += directions * (g * (f + hiddenSize) + (bias ? 2 * g : 0))
        }
        return n
    }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        guard model.needSequence(shape, typeName, at: site) else { return nil }
        let out = directions * hiddenSize
        var desc = "\(typeName) \(shape[1])→\(hiddenSize)"
        if numLayers > 1 { desc += " ×\(numLayers) layers" }
        if bidirectional { desc += ", bidirectional" }
        desc += returnSequences ? ", every step" : ", final state"
        let drops = [("input_dropout", inputDropout), ("dropout", dropout), ("recurrent_dropout", recurrentDropout)].filter { $0.1 > 0 }
        if !drops.isEmpty { desc += ", " + drops.map { "\($0.0) \($0.1)" }.joined(separator: ", ") }
        return LayerPlan(output: returnSequences ? [shape[0], out] : [out], parameters: parameterCount(features: shape[1]), description: desc)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        Recurrent(name: site.name, spec: self, steps: shape[0], features: shape[1], rng: &rng, stream: site.ownStream)
    }
}

/// The cell of a recurrent layer, with torch's gate order.
public enum RecurrentCell: String, Sendable, Equatable {
    /// h = tanh(W_ih x + b_ih + W_hh h + b_hh) (Elman).
    case rnnTanh
    /// h = relu(…).
    case rnnReLU
    /// Gates i, f, g, o: c = f⊙c + i⊙g, h = o⊙tanh(c) (Hochreiter & Schmidhuber).
    case lstm
    /// Gates r, z, n: n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)), h = (1 − z)⊙n + z⊙h (Cho et al.).
    case gru

    /// Rows of W_ih per unit.
    public var gates: Int {
        switch self {
        case .lstm: return 4
        case .gru: return 3
        case .rnnTanh, .rnnReLU: return 1
        }
    }

    public var typeName: String {
        switch self {
        case .lstm: return "lstm"
        case .gru: return "gru"
        case .rnnTanh, .rnnReLU: return "rnn"
        }
    }
}

extension ModelPlan {
    /// Records that the layer at `site` needs a sequence `[steps, features]`; false otherwise.
    mutating func needSequence(_ shape: [Int], _ what: String, at site: LayerSite) -> Bool {
        guard shape.count == 2 else {
            errors.append(ConfigError(path: site.path, message: "\(what) expects a sequence [steps, features], got shape \(shape) from the layer before; set model.input to [steps, features] or put an embedding first"))
            return false
        }
        return true
    }
}
