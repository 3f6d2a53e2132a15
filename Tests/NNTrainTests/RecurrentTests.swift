import Foundation
import NNCore
import NNTestSupport
@testable import NNTrain
import Testing

/// A recurrent layer of `spec` on `[steps, features]`, weights from a fixed stream.
func makeRecurrent(_ spec: RecurrentSpec, steps: Int, features: Int, seed: UInt64 = 3) -> Recurrent {
    var rng = Xoshiro256(seed: seed, stream: .initialization)
    return Recurrent(name: "rnn", spec: spec, steps: steps, features: features, rng: &rng,
                     stream: Xoshiro256(seed: seed, streamID: 77))
}

/// Lengths for a batch, as an embedding with `padding_idx` would write them.
func fixedLengths(_ lengths: [Int], steps: Int) -> SequenceLengths {
    let l = SequenceLengths(maxBatch: lengths.count, steps: steps)
    for (b, n) in lengths.enumerated() { l.lengths[b] = Int32(n) }
    return l
}

/// A seeded layer whose random stream restarts at each forward, so finite differences see the
/// same dropout masks as the backward they check.
final class FixedStream: Layer {
    let inner: any SeededLayer
    let start: [UInt64]
    init(_ inner: any SeededLayer) { self.inner = inner; start = inner.rng.state }
    var name: String { inner.name }
    var parameters: [Parameter] { inner.parameters }
    var outputShape: Shape { inner.outputShape }
    func allocate(maxBatch: Int) { inner.allocate(maxBatch: maxBatch) }
    func forward(_ input: Tensor, mode: Mode) -> Tensor {
        inner.rng = Xoshiro256(state: start)
        return inner.forward(input, mode: mode)
    }
    func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? { inner.backward(outputGrad, needsInputGradient: needsInputGradient) }
}

struct RecurrentCase: CustomStringConvertible, Sendable {
    var spec: RecurrentSpec
    var lengths: [Int]?
    var steps = 4
    var description: String {
        "\(spec.typeName) layers \(spec.numLayers) bi \(spec.bidirectional) seq \(spec.returnSequences) drop \(spec.inputDropout)/\(spec.dropout)/\(spec.recurrentDropout) lengths \(lengths ?? []) steps \(steps)"
    }
}

let recurrentCases: [RecurrentCase] = [
    .init(spec: RecurrentSpec(cell: .lstm, hiddenSize: 3)),
    .init(spec: RecurrentSpec(cell: .gru, hiddenSize: 3)),
    .init(spec: RecurrentSpec(cell: .rnnTanh, hiddenSize: 3)),
    .init(spec: RecurrentSpec(cell: .rnnReLU, hiddenSize: 3)),
    .init(spec: RecurrentSpec(cell: .lstm, hiddenSize: 3, returnSequences: true)),
    .init(spec: RecurrentSpec(cell: .gru, hiddenSize: 2, numLayers: 2, bidirectional: true, returnSequences: true)),
    .init(spec: RecurrentSpec(cell: .lstm, hiddenSize: 2, numLayers: 2, bidirectional: true)),
    .init(spec: RecurrentSpec(cell: .gru, hiddenSize: 3, bias: false)),
    .init(spec: RecurrentSpec(cell: .lstm, hiddenSize: 3, bidirectional: true), lengths: [4, 2, 0]),
    .init(spec: RecurrentSpec(cell: .gru, hiddenSize: 2, numLayers: 2, bidirectional: true, returnSequences: true), lengths: [1, 4, 3]),
    .init(spec: RecurrentSpec(cell: .rnnTanh, hiddenSize: 3, returnSequences: true), lengths: [3, 4, 2]),
    .init(spec: RecurrentSpec(cell: .lstm, hiddenSize: 3, numLayers: 2, dropout: 0.4, recurrentDropout: 0.3, inputDropout: 0.3)),
    .init(spec: RecurrentSpec(cell: .gru, hiddenSize: 3, bidirectional: true, returnSequences: true, recurrentDropout: 0.5, inputDropout: 0.2),
          lengths: [4, 3, 1]),
    // One step: the first step (no recurrent product) is also the last (its state is the final one).
    .init(spec: RecurrentSpec(cell: .lstm, hiddenSize: 3, bidirectional: true), lengths: [1, 0, 1], steps: 1),
    .init(spec: RecurrentSpec(cell: .gru, hiddenSize: 3, numLayers: 2, returnSequences: true), steps: 1),
]

@Test(arguments: recurrentCases)
func recurrentLayerMatchesFiniteDifferences(_ c: RecurrentCase) {
    let layer = makeRecurrent(c.spec, steps: c.steps, features: 3)
    if let lengths = c.lengths {
        let l = fixedLengths(lengths, steps: c.steps)
        layer.inputLengths = { l }
    }
    let report = checkGradients(of: FixedStream(layer), input: randomTensor([3, c.steps, 3], seed: 11, low: -1.5, high: 1.5), h: 1e-2)
    #expect(report.worstError < 3e-3, "\(report)")
    #expect(report.checked > report.skipped * 4, "\(report)")
}

@Test(arguments: [RecurrentCell.lstm, .gru, .rnnTanh])
func paddedStepsChangeNothing(_ cell: RecurrentCell) {
    // A sequence of length 3 padded to 6 steps gives what the same 3 steps give unpadded, in
    // both directions; its padded steps output 0 and get no gradient.
    let spec = RecurrentSpec(cell: cell, hiddenSize: 4, bidirectional: true, returnSequences: true)
    let padded = makeRecurrent(spec, steps: 6, features: 2), short = makeRecurrent(spec, steps: 3, features: 2)
    let x = randomTensor([1, 6, 2], seed: 5)
    for i in 6..<12 { x.pointer[i] = 9 }  // garbage in the padding
    let l = fixedLengths([3], steps: 6)
    padded.inputLengths = { l }
    padded.allocate(maxBatch: 1); short.allocate(maxBatch: 1)
    _ = ParameterStore(padded.parameters); _ = ParameterStore(short.parameters)
    let y = padded.forward(x, mode: .training).scalars
    let ys = short.forward(Tensor(shape: [1, 3, 2], scalars: Array(x.scalars.prefix(6))), mode: .training).scalars
    for i in 0..<ys.count { #expect(abs(y[i] - ys[i]) < 1e-6, "step value \(i)") }
    #expect(y[ys.count...].allSatisfy { $0 == 0 })
    let dy = randomTensor([1, 6, 8], seed: 6)
    let dx = padded.backward(dy, needsInputGradient: true)!.scalars
    #expect(dx[6...].allSatisfy { $0 == 0 })
    let dxs = short.backward(Tensor(shape: [1, 3, 8], scalars: Array(dy.scalars.prefix(24))), needsInputGradient: true)!.scalars
    for i in 0..<6 { #expect(abs(dx[i] - dxs[i]) < 1e-6) }
    for (p, q) in zip(padded.parameters, short.parameters) {
        for i in 0..<p.grad.count { #expect(abs(p.grad.scalars[i] - q.grad.scalars[i]) < 1e-5, "\(p.name)") }
    }
}

@Test func finalStateIsTheLastValidStepForwardAndStepZeroBackward() {
    let h = 3
    let seq = makeRecurrent(RecurrentSpec(cell: .lstm, hiddenSize: h, bidirectional: true, returnSequences: true), steps: 5, features: 2)
    let fin = makeRecurrent(RecurrentSpec(cell: .lstm, hiddenSize: h, bidirectional: true), steps: 5, features: 2)
    let l = fixedLengths([5, 2], steps: 5)
    seq.inputLengths = { l }; fin.inputLengths = { l }
    seq.allocate(maxBatch: 2); fin.allocate(maxBatch: 2)
    let x = randomTensor([2, 5, 2], seed: 9)
    let ys = seq.forward(x, mode: .evaluation).scalars, yf = fin.forward(x, mode: .evaluation).scalars
    for (b, n) in [(0, 5), (1, 2)] {
        for j in 0..<h {
            #expect(yf[b * 2 * h + j] == ys[(b * 5 + n - 1) * 2 * h + j], "forward direction at step \(n - 1)")
            #expect(yf[b * 2 * h + h + j] == ys[(b * 5) * 2 * h + h + j], "backward direction at step 0")
        }
    }
}

@Test func variationalDropoutReusesOneMaskPerSequence() {
    // Input dropout: a dropped feature of a sequence is dropped at every step, so its input
    // gradient is 0 at every step or at none; evaluation is the identity (deterministic).
    let layer = makeRecurrent(RecurrentSpec(cell: .gru, hiddenSize: 4, recurrentDropout: 0.5, inputDropout: 0.5), steps: 6, features: 8)
    layer.allocate(maxBatch: 4)
    _ = ParameterStore(layer.parameters)
    let x = randomTensor([4, 6, 8], seed: 2)
    _ = layer.forward(x, mode: .training)
    let dx = layer.backward(randomTensor([4, 4], seed: 3), needsInputGradient: true)!.scalars
    var zeroColumns = 0
    for b in 0..<4 {
        for f in 0..<8 {
            let column = (0..<6).map { dx[(b * 6 + $0) * 8 + f] }
            let zeros = column.filter { $0 == 0 }.count
            #expect(zeros == 0 || zeros == 6, "sample \(b) feature \(f): \(column)")
            if zeros == 6 { zeroColumns += 1 }
        }
    }
    #expect(zeroColumns > 4 && zeroColumns < 28, "about half of 32 features dropped, got \(zeroColumns)")
    let e1 = layer.forward(x, mode: .evaluation).scalars, e2 = layer.forward(x, mode: .evaluation).scalars
    #expect(e1 == e2)
    let t1 = layer.forward(x, mode: .training).scalars
    #expect(t1 != e1)
}

@Test func recurrentParametersHaveTorchNamesAndShapes() {
    let layer = makeRecurrent(RecurrentSpec(cell: .lstm, hiddenSize: 5, numLayers: 2, bidirectional: true), steps: 3, features: 7)
    #expect(layer.parameters.map(\.name) == [
        "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse", "rnn.bias_ih_l0_reverse", "rnn.bias_hh_l0_reverse",
        "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
        "rnn.weight_ih_l1_reverse", "rnn.weight_hh_l1_reverse", "rnn.bias_ih_l1_reverse", "rnn.bias_hh_l1_reverse",
    ])
    #expect(layer.parameters.map(\.value.shape.dims)[0...1] == [[20, 7], [20, 5]])
    #expect(layer.parameters[8].value.shape.dims == [20, 10])
    #expect(layer.parameters.reduce(0) { $0 + $1.value.count } == RecurrentSpec(cell: .lstm, hiddenSize: 5, numLayers: 2, bidirectional: true).parameterCount(features: 7))
    // torch's default initialisation: U(−1/√H, 1/√H).
    let bound = 1 / Float(5).squareRoot()
    #expect(layer.parameters.allSatisfy { p in p.value.scalars.allSatisfy { abs($0) <= bound } })
    #expect(layer.parameters[0].value.scalars.contains { abs($0) > bound * 0.8 })
}

@Test func recurrentCellsExpIsAccurate() {
    let xs: [Float] = stride(from: -20, through: 20, by: 0.037).map { Float($0) }
    var s = [Float](repeating: 0, count: xs.count), t = [Float](repeating: 0, count: xs.count)
    RecurrentKernels.sigmoid(xs, &s, count: xs.count)
    RecurrentKernels.tanh(xs, &t, count: xs.count)
    for (i, x) in xs.enumerated() {
        let sig = 1 / (1 + exp(-Double(x)))
        #expect(abs(Double(s[i]) - sig) <= 4e-7 * sig, "sigmoid(\(x))")
        #expect(abs(Double(t[i]) - tanh(Double(x))) < 3e-7, "tanh(\(x))")
    }
}

@Test func embeddingLooksUpRowsAndWritesLengths() {
    var rng = Xoshiro256(seed: 1, stream: .initialization)
    let e = Embedding(name: "emb", steps: 5, numEmbeddings: 6, embeddingDim: 2, paddingIndex: 0, initialization: .normal(mean: 0, std: 1), rng: &rng)
    _ = ParameterStore(e.parameters)
    e.allocate(maxBatch: 3)
    #expect(Array(e.weight.value.scalars.prefix(2)) == [0, 0], "padding row starts at 0")
    let ids: [Float] = [3, 0, 2, 0, 0,   5, 5, 5, 5, 5,   0, 0, 0, 0, 0]
    let y = e.forward(Tensor(shape: [3, 5], scalars: ids), mode: .training).scalars
    let w = e.weight.value.scalars
    for (i, id) in ids.enumerated() { #expect(Array(y[i * 2..<i * 2 + 2]) == Array(w[Int(id) * 2..<Int(id) * 2 + 2])) }
    #expect((0..<3).map { e.sequenceLengths!.length($0) } == [3, 5, 0])
    // Out-of-range and fractional ids read <unk> (row 1).
    let odd = e.forward(Tensor(shape: [1, 5], scalars: [7, -1, 2.5, .nan, 1]), mode: .evaluation).scalars
    for i in 0..<5 { #expect(Array(odd[i * 2..<i * 2 + 2]) == Array(w[2..<4])) }
    _ = e.forward(Tensor(shape: [3, 5], scalars: ids), mode: .training)
    let dy = randomTensor([3, 5, 2], seed: 4)
    #expect(e.backward(dy, needsInputGradient: true) == nil)
    var expected = [Float](repeating: 0, count: 12)
    for (i, id) in ids.enumerated() where id != 0 { for j in 0..<2 { expected[Int(id) * 2 + j] += dy.scalars[i * 2 + j] } }
    let g = e.weight.grad.scalars
    for i in 0..<12 { #expect(abs(g[i] - expected[i]) < 1e-6) }
    #expect(g[0] == 0 && g[1] == 0, "padding_idx gets no gradient")
}

@Test func poolingOverTimeMatchesFiniteDifferencesAndSkipsPadding() {
    for isMax in [false, true] {
        let pool = GlobalPool1D(name: "p", steps: 4, features: 3, max: isMax)
        let l = fixedLengths([4, 2, 1], steps: 4)
        pool.inputLengths = { l }
        let x = randomTensor([3, 4, 3], seed: 8)
        let report = checkGradients(of: pool, input: x)
        #expect(report.worstError < 1e-3, "\(report)")
        pool.allocate(maxBatch: 3)
        let y = pool.forward(x, mode: .evaluation).scalars
        let xs = x.scalars
        for f in 0..<3 {
            let valid = (0..<2).map { xs[(4 + $0) * 3 + f] }
            let want = isMax ? valid.max()! : valid.reduce(0, +) / 2
            #expect(abs(y[3 + f] - want) < 1e-6, "sample 1 pools its 2 valid steps")
        }
    }
}

@Test func layerNormOnSequencesNormalisesEachStep() {
    let ln = LayerNorm(name: "ln", inputShape: [3, 4], normalizedShape: [4])
    #expect(ln.parameters.map(\.value.shape.dims) == [[4], [4]])
    ln.allocate(maxBatch: 2)
    _ = ParameterStore(ln.parameters)
    let x = randomTensor([2, 3, 4], seed: 1, low: -3, high: 3)
    let y = ln.forward(x, mode: .evaluation).scalars
    for row in 0..<6 {
        let v = y[row * 4..<row * 4 + 4]
        #expect(abs(v.reduce(0, +)) < 1e-5)
        #expect(abs(v.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-3)
    }
    var rng = Xoshiro256(seed: 1, streamID: 3)
    for p in ln.parameters { for i in 0..<p.value.count { p.value.pointer[i] += rng.uniform(-0.5, 0.5) } }
    let report = checkGradients(of: ln, input: x)
    #expect(report.worstError < 2e-3, "\(report)")
}

/// A recurrent layer against torch.nn.LSTM/GRU/RNN (Fixtures/make_recurrent_fixtures.py): the
/// same parameters, then three SGD steps (lr 0.1) on L = Σ r⊙y, comparing y, dL/dx and every
/// gradient at each step and the parameters at the end.
@Test(arguments: ["lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_bidirectional_2_layers_sequences", "gru_bidirectional_2_layers",
                  "gru_no_bias", "lstm_masked_bidirectional", "gru_masked_sequences", "rnn_masked_2_layers_bidirectional"])
func recurrentLayerMatchesTorch(_ name: String) throws {
    let all = try JSONValue.parse(try FileIO.read(fixturesDirectory + "/recurrent_reference.json"))
    let c = try #require(all["cases"]?[name])
    func int(_ k: String) -> Int { Int(c[k]!.doubleValue!) }
    func bool(_ k: String) -> Bool { c[k]! == .bool(true) }
    let cell: RecurrentCell
    switch c["kind"]!.stringValue! {
    case "lstm": cell = .lstm
    case "gru": cell = .gru
    default: cell = c["nonlinearity"]!.stringValue! == "relu" ? .rnnReLU : .rnnTanh
    }
    let spec = RecurrentSpec(cell: cell, hiddenSize: int("hidden_size"), numLayers: int("num_layers"),
                             bidirectional: bool("bidirectional"), returnSequences: bool("return_sequences"),
                             bias: bool("bias"))
    let steps = int("steps"), features = int("features")
    let layer = makeRecurrent(spec, steps: steps, features: features)
    _ = ParameterStore(layer.parameters)
    func torchName(_ p: Parameter) -> String { String(p.name.dropFirst("rnn.".count)) }
    for p in layer.parameters {
        let v = floats(c["params"]![torchName(p)])
        #expect(v.count == p.value.count, "\(p.name)")
        p.value.copy(from: Tensor(shape: p.value.shape.dims, scalars: v))
    }
    if let lengths = c["lengths"]!.arrayValue {
        let l = fixedLengths(lengths.map { Int($0.doubleValue!) }, steps: steps)
        layer.inputLengths = { l }
    }
    func close(_ a: [Float], _ b: [Float], _ what: String, tolerance: Float = 2e-5) {
        #expect(a.count == b.count, "\(what) count")
        for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > tolerance * max(1, abs(y)) {
            Issue.record("\(name) \(what)[\(i)]: \(x) vs torch \(y)")
            return
        }
    }
    for (k, step) in (c["steps_sgd"]!.arrayValue!).enumerated() {
        let xs = floats(step["x"])
        let batch = xs.count / (steps * features)
        layer.allocate(maxBatch: batch)
        let y = layer.forward(Tensor(shape: [batch, steps, features], scalars: xs), mode: .training)
        close(y.scalars, floats(step["y"]), "step \(k) y")
        let dx = layer.backward(Tensor(shape: y.shape.dims, scalars: floats(step["upstream"])), needsInputGradient: true)!
        close(dx.scalars, floats(step["dx"]), "step \(k) dx")
        for p in layer.parameters {
            close(p.grad.scalars, floats(step["grads"]![torchName(p)]), "step \(k) d\(p.name)")
            for i in 0..<p.value.count { p.value.pointer[i] -= 0.1 * p.grad.pointer[i] }
        }
    }
    for p in layer.parameters { close(p.value.scalars, floats(c["final_params"]![torchName(p)]), "final \(p.name)") }
}

/// One training forward and backward of a fresh seeded layer on `x` (`[B, T, F]`) with output
/// gradient `dy`: y, dL/dx and every parameter gradient. `configure` sets the units' test knobs.
func recurrentStep(_ spec: RecurrentSpec, x: Tensor, dy: Tensor, lengths: SequenceLengths?,
                   configure: (RecurrentUnit) -> Void) -> [[Float]] {
    let layer = makeRecurrent(spec, steps: x.shape[1], features: x.shape[2])
    for u in layer.units.joined() { configure(u) }
    if let lengths { layer.inputLengths = { lengths } }
    layer.allocate(maxBatch: x.shape[0])
    _ = ParameterStore(layer.parameters)
    let y = layer.forward(x, mode: .training).scalars
    let dx = layer.backward(Tensor(shape: dy.shape.dims, scalars: dy.scalars), needsInputGradient: true)!.scalars
    return [y, dx] + layer.parameters.map(\.grad.scalars)
}

/// The batch rows split over two threads (each part walking its rows through every step, the
/// bias gradients summed per part) give what one thread gives.
@Test(arguments: [RecurrentCell.lstm, .gru, .rnnTanh])
func recurrentLayerOnTwoThreadsMatchesOne(_ cell: RecurrentCell) {
    let spec = RecurrentSpec(cell: cell, hiddenSize: 8, bidirectional: true, returnSequences: true)
    let x = randomTensor([40, 5, 3], seed: 21), dy = randomTensor([40, 5, 16], seed: 22)
    let lengths = fixedLengths((0..<40).map { $0 % 6 }, steps: 5)
    Parallel.setThreads(max(2, Parallel.threads))
    func run(parts: Int) -> [[Float]] { recurrentStep(spec, x: x, dy: dy, lengths: lengths) { $0.maxParts = parts } }
    #expect(Recurrent.parts(40) >= 2)
    let one = run(parts: 1), two = run(parts: 2)
    for (a, b) in zip(one, two) {
        #expect(a.count == b.count)
        for (u, v) in zip(a, b) where abs(u - v) > 1e-5 * max(1, abs(u)) { Issue.record("\(u) vs \(v)"); break }
    }
}

/// Without lengths the LSTM's backward cell pass takes a step's rows at once (16 units at a time,
/// the bias sums in registers): it gives what the padded path's row-by-row calls give, bit for
/// bit (the bias gradients up to their order of summation), and its AVX-512 and portable bodies
/// give the same bits.
@Test func lstmBackwardOverAllRowsMatchesRowByRow() {
    // 20 units: a full block of 16 and a masked tail of 4; every step's output has a gradient.
    let spec = RecurrentSpec(cell: .lstm, hiddenSize: 20, bidirectional: true, returnSequences: true)
    let x = randomTensor([9, 5, 3], seed: 41), dy = randomTensor([9, 5, 40], seed: 42)
    func run(lengths: SequenceLengths?, portable: Bool) -> [[Float]] {
        recurrentStep(spec, x: x, dy: dy, lengths: lengths) { $0.portableCells = portable }
    }
    let rows = run(lengths: nil, portable: false), portable = run(lengths: nil, portable: true)
    let byRow = run(lengths: fixedLengths(Array(repeating: 5, count: 9), steps: 5), portable: false)
    #expect(rows == portable)
    let names = ["y", "dx"] + makeRecurrent(spec, steps: 5, features: 3).parameters.map(\.name)
    for (k, name) in names.enumerated() {
        if name.contains("bias") {
            for (u, v) in zip(rows[k], byRow[k]) where abs(u - v) > 1e-6 * max(1, abs(u)) { Issue.record("\(name): \(u) vs \(v)"); break }
        } else {
            #expect(rows[k] == byRow[k], "\(name)")
        }
    }
    #expect(rows[2...].allSatisfy { g in g.contains { $0 != 0 } })
    // The rows pass did run: its bias sums, in another order, differ in some last bit (seeded).
    #expect(names.indices.contains { names[$0].contains("bias") && rows[$0] != byRow[$0] })
}

/// The step products on sgemm (CPUs without AVX-512) give what nntrain's own kernel gives.
@Test(arguments: [RecurrentCell.lstm, .gru, .rnnReLU])
func recurrentStepsOnSgemmMatchTheOwnKernel(_ cell: RecurrentCell) {
    // 48 units: the weight gradients on the kernel are cut into column blocks over two threads.
    Parallel.setThreads(max(2, Parallel.threads))
    let spec = RecurrentSpec(cell: cell, hiddenSize: 48, numLayers: 2, bidirectional: true, recurrentDropout: 0.3)
    let x = randomTensor([12, 4, 5], seed: 31), dy = randomTensor([12, 96], seed: 32)
    let lengths = fixedLengths((0..<12).map { $0 % 5 }, steps: 4)
    func run(ownKernel: Bool) -> [[Float]] { recurrentStep(spec, x: x, dy: dy, lengths: lengths) { $0.ownKernel = ownKernel } }
    let own = run(ownKernel: true), blas = run(ownKernel: false)
    #expect(own.filter { $0.allSatisfy { $0 == 0 } }.count <= 2, "\(own.map { $0.filter { $0 != 0 }.count })")
    for (a, b) in zip(own, blas) {
        #expect(a.count == b.count)
        for (u, v) in zip(a, b) where abs(u - v) > 1e-5 * max(1, abs(u)) { Issue.record("\(u) vs \(v)"); break }
    }
}
