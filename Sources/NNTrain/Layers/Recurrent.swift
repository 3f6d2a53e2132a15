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

/// A stack of recurrent layers (RNN, LSTM or GRU; one or two directions) on batches
/// `[B, T, F]`, with torch's parameters (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
/// `bias_hh_l0`, `…_reverse`: `model.safetensors` loads into `torch.nn.LSTM(batch_first=True)`).
///
/// Forward, per layer and direction: the input projection of every step in one product
/// (`[B·T, F] × W_ihᵀ`, the biases added first), then the steps in order, each one product of
/// the state with W_hhᵀ into that step's gates (rows `T·G·H` apart) and one element-wise pass
/// (Recurrent.c). The batch rows are split over the worker pool for the whole sequence, so the
/// steps need no synchronisation. Backward through time walks the steps back, each one product
/// with W_hh for dL/dh; the weight gradients are one product each over all steps. Every buffer
/// is allocated once (`allocate`). A step past a sequence's length (`SequenceLengths`) leaves
/// its state alone, outputs 0 and gets no gradient, as a packed sequence in torch.
public final class Recurrent: SeededLayer, SequenceLengthReader {
    public let name: String
    public let spec: RecurrentSpec
    public let steps: Int
    public let features: Int
    public let outputShape: Shape
    public var rng: Xoshiro256
    var inputLengths: (() -> SequenceLengths?)?
    var keepsSteps: Bool { spec.returnSequences }
    /// `units[l][d]`: layer l, direction d (1: reverse).
    let units: [[RecurrentUnit]]
    /// Per layer: its output `[B, T, D·H]`, its input after variational dropout, the dropout
    /// mask `[B, F_l]`, dL/d(input).
    private var outputs: [BatchBuffer] = []
    private var droppedInputs: [BatchBuffer?] = []
    private var inputMasks: [BatchBuffer?] = []
    private var inputGrads: [BatchBuffer] = []
    /// `[B, D·H]`: the final states (the output without `return_sequences`).
    private var finalStates: BatchBuffer!
    private var lastInput: Tensor?
    private var lastBatch = 0
    private var lastWasTraining = false

    init(name: String, spec: RecurrentSpec, steps: Int, features: Int, rng weights: inout Xoshiro256, stream: Xoshiro256) {
        self.name = name
        self.spec = spec
        self.steps = steps
        self.features = features
        rng = stream
        let h = spec.hiddenSize
        var units: [[RecurrentUnit]] = []
        for l in 0..<spec.numLayers {
            let f = l == 0 ? features : spec.directions * h
            units.append((0..<spec.directions).map { d in
                RecurrentUnit(prefix: name, layer: l, reverse: d == 1, cell: spec.cell, features: f, hidden: h, steps: steps,
                              bias: spec.bias, options: spec.layerOptions, rng: &weights)
            })
        }
        self.units = units
        let out = spec.directions * h
        outputShape = Shape(spec.returnSequences ? [steps, out] : [out])
    }

    public var parameters: [Parameter] { units.flatMap { $0.flatMap(\.parameters) } }

    /// The dropout rate on layer l's inputs.
    func inputRate(_ l: Int) -> Float { l == 0 ? spec.inputDropout : spec.dropout }

    public func allocate(maxBatch: Int) {
        let out = spec.directions * spec.hiddenSize
        outputs = (0..<spec.numLayers).map { _ in BatchBuffer(sampleShape: .sample([steps, out]), maxBatch: maxBatch) }
        droppedInputs = (0..<spec.numLayers).map { l in
            inputRate(l) > 0 ? BatchBuffer(sampleShape: .sample([steps, l == 0 ? features : out]), maxBatch: maxBatch) : nil
        }
        inputMasks = (0..<spec.numLayers).map { l in
            inputRate(l) > 0 ? BatchBuffer(sampleShape: .sample([l == 0 ? features : out]), maxBatch: maxBatch) : nil
        }
        inputGrads = (0..<spec.numLayers).map { l in BatchBuffer(sampleShape: .sample([steps, l == 0 ? features : out]), maxBatch: maxBatch) }
        finalStates = BatchBuffer(sampleShape: .sample([out]), maxBatch: maxBatch)
        for layer in units { for u in layer { u.allocate(maxBatch: maxBatch, recurrentDropout: spec.recurrentDropout > 0) } }
    }

    /// Fills `mask` `[batch, n]` with 0 or 1/(1 − rate) (keep with probability 1 − rate).
    private func drawMask(_ mask: UnsafeMutablePointer<Float>, count: Int, rate: Float) {
        let keep = 1 / (1 - rate)
        for i in 0..<count { mask[i] = rng.nextUnitFloat() < rate ? 0 : keep }
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        lastBatch = batch
        lastInput = input
        let training = mode == .training
        lastWasTraining = training
        let lengths = inputLengths?()
        let h = spec.hiddenSize, out = spec.directions * h
        var x = input.pointer
        for l in 0..<spec.numLayers {
            let f = l == 0 ? features : out
            if training, let maskBuffer = inputMasks[l], let dropped = droppedInputs[l] {
                let mask = maskBuffer.storage.base, xd = dropped.storage.base
                drawMask(mask, count: batch * f, rate: inputRate(l))
                for b in 0..<batch {
                    for t in 0..<steps {
                        let o = (b * steps + t) * f
                        for j in 0..<f { xd[o + j] = x[o + j] * mask[b * f + j] }
                    }
                }
                x = xd
            }
            let y = outputs[l].storage.base
            for (d, unit) in units[l].enumerated() {
                if training && spec.recurrentDropout > 0 {
                    drawMask(unit.recurrentMask!.storage.base, count: batch * h, rate: spec.recurrentDropout)
                }
                // The top layer's steps are not written when only its final state is returned.
                let written = spec.returnSequences || l < spec.numLayers - 1
                unit.forward(x, batch: batch, lengths: lengths?.lengths, output: written ? y + d * h : nil, outputStride: out,
                             recurrentDropout: training && spec.recurrentDropout > 0)
            }
            x = UnsafeMutablePointer(mutating: y)
        }
        if spec.returnSequences { return outputs[spec.numLayers - 1].view(batch: batch) }
        let fs = finalStates.view(batch: batch)
        for (d, unit) in units[spec.numLayers - 1].enumerated() {
            for b in 0..<batch { (fs.pointer + b * out + d * h).update(from: unit.state + b * h, count: h) }
        }
        return fs
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        let batch = lastBatch, h = spec.hiddenSize, out = spec.directions * h
        let lengths = inputLengths?()?.lengths
        // dL/d(output sequence) of the layer being walked back, and dL/d(final state) of the top.
        var dY: UnsafePointer<Float>? = spec.returnSequences ? UnsafePointer(outputGrad.pointer) : nil
        let dFinal: UnsafePointer<Float>? = spec.returnSequences ? nil : UnsafePointer(outputGrad.pointer)
        for l in stride(from: spec.numLayers - 1, through: 0, by: -1) {
            let f = l == 0 ? features : out
            let top = l == spec.numLayers - 1
            var x: UnsafePointer<Float> = l == 0 ? UnsafePointer(lastInput!.pointer) : UnsafePointer(outputs[l - 1].storage.base)
            let dropped = lastWasTraining && inputRate(l) > 0
            if dropped { x = UnsafePointer(droppedInputs[l]!.storage.base) }
            let needDX = l > 0 || needsInputGradient
            let dx = inputGrads[l].storage.base
            for (d, unit) in units[l].enumerated() {
                unit.backward(dY.map { $0 + d * h }, outputStride: out, dFinal: top ? dFinal.map { $0 + d * h } : nil, finalStride: out,
                              input: x, batch: batch, lengths: lengths, recurrentDropout: lastWasTraining && spec.recurrentDropout > 0)
                if needDX { unit.inputGradient(into: dx, batch: batch, accumulate: d > 0) }
            }
            if !needDX { return nil }
            if dropped {
                let mask = inputMasks[l]!.storage.base
                for b in 0..<batch {
                    for t in 0..<steps {
                        let o = (b * steps + t) * f
                        for j in 0..<f { dx[o + j] *= mask[b * f + j] }
                    }
                }
            }
            dY = UnsafePointer(dx)
        }
        return inputGrads[0].view(batch: batch)
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
