import NNCore

/// One layer and direction of a `Recurrent` stack: its four parameters, the tensors its
/// backward pass needs, and the passes over a batch.
final class RecurrentUnit {
    let cell: RecurrentCell
    let features: Int, hidden: Int, steps: Int
    let reverse: Bool
    let weightIH: Parameter, weightHH: Parameter
    let biasIH: Parameter?, biasHH: Parameter?
    var gateWidth: Int { cell.gates * hidden }

    /// `[B, T, G·H]`: the pre-activations, then the activations of each step (LSTM, RNN: with
    /// the recurrent product; GRU: without it).
    var gates: BatchBuffer!
    /// GRU: `[B, T, 3H]`, W_hh·h + b_hh of each step.
    var recurrentPart: BatchBuffer?
    /// `[B, T, H]`: the state entering each step, and (recurrent dropout) that state masked.
    var statesBefore: BatchBuffer!
    var maskedStates: BatchBuffer?
    /// LSTM: `[B, T, H]` the cell state entering each step, and tanh of the cell state after it.
    var cellsBefore: BatchBuffer?
    var tanhCells: BatchBuffer?
    /// `[B, H]`: h (and c) after forward's last step, the final state.
    var hState: BatchBuffer!
    var cState: BatchBuffer?
    /// W_hhᵀ `[H, G·H]` for the steps' products on nntrain's own kernel (AVX-512 CPUs).
    var transposedHH: TensorStorage?
    /// W_ihᵀ `[F, G·H]` likewise, for the input projection.
    var transposedIH: TensorStorage?
    /// At most this many parts of the batch rows (tests compare one part with several).
    var maxParts = Int.max
    /// The step products on nntrain's own kernel (AVX-512 CPUs), else sgemm (tests compare them).
    var ownKernel = DirectGEMM.isAvailable
    /// The LSTM's backward cell pass on its portable body even on AVX-512 (tests: the same bits).
    var portableCells = false
    /// Backward on nntrain's kernel: dW_ihᵀ `[F, G·H]` and dW_hhᵀ `[H, G·H]` before their transposes.
    var weightGradScratch: TensorStorage?
    /// LSTM, RNN: b_ih + b_hh, added by the cell pass.
    var combinedBias: TensorStorage?
    /// Backward: each part's sums of the bias gradients over its rows, `[2][Parallel.maxThreads][G·H]`
    /// (the W_ih side, then GRU's W_hh side), summed in part order after the pass.
    var biasGradParts: TensorStorage?
    /// `[B, H]`: the recurrent dropout mask.
    var recurrentMask: BatchBuffer?
    /// Backward: dL/d(gate pre-activations) `[B, T, G·H]` (GRU: the input side; `recurrentGrads`
    /// the W_hh side), dL/dh and dL/dc carried back, the product dG·W_hh, GRU's z⊙dh.
    var gateGrads: BatchBuffer!
    var recurrentGrads: BatchBuffer?
    var dhState: BatchBuffer!
    var dcState: BatchBuffer?
    var product: BatchBuffer!
    var direct: BatchBuffer?

    init(prefix: String, layer: Int, reverse: Bool, cell: RecurrentCell, features: Int, hidden: Int, steps: Int, bias: Bool,
         options: LayerOptions, rng: inout Xoshiro256) {
        self.cell = cell
        self.features = features
        self.hidden = hidden
        self.steps = steps
        self.reverse = reverse
        let g = cell.gates * hidden
        let suffix = "_l\(layer)" + (reverse ? "_reverse" : "")
        let bound = Float(1 / Double(hidden).squareRoot())
        let wih = Tensor(zeros: [g, features]), whh = Tensor(zeros: [g, hidden])
        let bih = Tensor(zeros: [g]), bhh = Tensor(zeros: [g])
        if let initialization = options.initialization {
            initialization.fill(wih, fanIn: features, fanOut: g, rng: &rng)
            initialization.fill(whh, fanIn: hidden, fanOut: g, rng: &rng)
            bih.fill(options.biasInit)
            bhh.fill(options.biasInit)
        } else {
            // torch's default: every weight and bias U(−1/√H, 1/√H).
            for t in [wih, whh] + (bias ? [bih, bhh] : []) {
                for i in 0..<t.count { t.pointer[i] = rng.uniform(-bound, bound) }
            }
        }
        weightIH = Parameter(name: "\(prefix).weight_ih\(suffix)", value: wih, decays: true, rows: g)
        weightHH = Parameter(name: "\(prefix).weight_hh\(suffix)", value: whh, decays: true, rows: g)
        biasIH = bias ? Parameter(name: "\(prefix).bias_ih\(suffix)", value: bih, decays: false) : nil
        biasHH = bias ? Parameter(name: "\(prefix).bias_hh\(suffix)", value: bhh, decays: false) : nil
    }

    var parameters: [Parameter] { [weightIH, weightHH, biasIH, biasHH].compactMap { $0 } }

    // The buffers' memory, for the passes (valid after `allocate`).
    var gatePointer: UnsafeMutablePointer<Float> { gates.storage.base }
    var gateGradPointer: UnsafeMutablePointer<Float> { gateGrads.storage.base }
    /// The gradients of the W_hh side: GRU's own, the gates' for LSTM and RNN.
    var recurrentGradPointer: UnsafeMutablePointer<Float> { recurrentGrads?.storage.base ?? gateGrads.storage.base }
    var recurrentPartPointer: UnsafeMutablePointer<Float>? { recurrentPart?.storage.base }
    var statePointer: UnsafeMutablePointer<Float> { statesBefore.storage.base }
    var maskedStatePointer: UnsafeMutablePointer<Float>? { maskedStates?.storage.base }
    var cellBeforePointer: UnsafeMutablePointer<Float>? { cellsBefore?.storage.base }
    var tanhCellPointer: UnsafeMutablePointer<Float>? { tanhCells?.storage.base }
    var recurrentMaskPointer: UnsafeMutablePointer<Float>? { recurrentMask?.storage.base }
    var dhStatePointer: UnsafeMutablePointer<Float> { dhState.storage.base }
    var dcStatePointer: UnsafeMutablePointer<Float>? { dcState?.storage.base }
    var productPointer: UnsafeMutablePointer<Float> { product.storage.base }
    var directPointer: UnsafeMutablePointer<Float>? { direct?.storage.base }

    /// The state after the last forward (`[B, H]`).
    var state: UnsafeMutablePointer<Float> { hState.storage.base }

    func allocate(maxBatch: Int, recurrentDropout: Bool) {
        let g = gateWidth
        func buffer(_ dims: [Int]) -> BatchBuffer { BatchBuffer(sampleShape: .sample(dims), maxBatch: maxBatch) }
        gates = buffer([steps, g])
        gateGrads = buffer([steps, g])
        statesBefore = buffer([steps, hidden])
        hState = buffer([hidden])
        dhState = buffer([hidden])
        product = buffer([hidden])
        maskedStates = recurrentDropout ? buffer([steps, hidden]) : nil
        transposedHH = DirectGEMM.isAvailable ? TensorStorage(capacity: g * hidden) : nil
        transposedIH = DirectGEMM.isAvailable ? TensorStorage(capacity: g * features) : nil
        ownKernel = ownKernel && DirectGEMM.isAvailable
        weightGradScratch = DirectGEMM.isAvailable ? TensorStorage(capacity: (features + hidden) * g) : nil
        combinedBias = biasIH != nil && cell != .gru ? TensorStorage(capacity: g) : nil
        biasGradParts = biasIH != nil ? TensorStorage(capacity: 2 * Parallel.maxThreads * g) : nil
        recurrentMask = recurrentDropout ? buffer([hidden]) : nil
        if cell == .lstm {
            cellsBefore = buffer([steps, hidden])
            tanhCells = buffer([steps, hidden])
            cState = buffer([hidden])
            dcState = buffer([hidden])
        }
        if cell == .gru {
            recurrentPart = buffer([steps, g])
            recurrentGrads = buffer([steps, g])
            direct = buffer([hidden])
        }
    }

    /// Runs the sequence `x` `[B, T, F]`; writes h of each step to `output` when given (row
    /// stride `outputStride` per step, 0 past a sequence's length) and leaves the final state in
    /// `state`.
    func forward(_ x: UnsafePointer<Float>, batch: Int, lengths: UnsafePointer<Int32>?, output: UnsafeMutablePointer<Float>?,
                 outputStride: Int, recurrentDropout: Bool) {
        let g = gateWidth, rows = batch * steps
        let gp = gates.storage.base
        // The input projection of every step; the cell pass adds the biases (LSTM, RNN: b_ih + b_hh).
        if let biasIH, let biasHH, let b = combinedBias?.base {
            let bi = biasIH.value.pointer, bh = biasHH.value.pointer
            for j in 0..<g { b[j] = bi[j] + bh[j] }
        }
        if ownKernel, let wt = transposedIH?.base {
            // x·W_ihᵀ on nntrain's kernel, blocks of rows over the pool (no packing, no zero fill).
            transpose(weightIH.value.pointer, rows: g, cols: features, wt)
            let (blocks, per) = Parallel.split(rows, minimum: 64, align: 8)
            Parallel.forEach(parts: blocks, RecurrentInputProjection(x: x, weights: wt, gates: gp, rows: rows, per: per, features: features, width: g))
        } else {
            gemm(transposeB: true, m: rows, n: g, k: features, x, weightIH.value.pointer, gp)
        }
        if ownKernel, let t = transposedHH { transpose(weightHH.value.pointer, rows: g, cols: hidden, t.base) }
        let parts = min(Recurrent.parts(batch), maxParts)
        Parallel.forEach(parts: parts, RecurrentForward(unit: self, batch: batch, parts: parts, lengths: lengths, output: output,
                                                        outputStride: outputStride, masked: recurrentDropout))
    }

    /// Rows `rows` of the forward pass over every step. The state entering step t stays in
    /// `statesBefore` (and `cellsBefore`) at t for backward: each step's cell pass writes its
    /// state straight into the next step's slot (the last step's into `hState`, `cState`), so
    /// only a state carried past a sequence's end is copied.
    func forwardRows(_ rows: Range<Int>, lengths: UnsafePointer<Int32>?, output: UnsafeMutablePointer<Float>?, outputStride: Int,
                     masked: Bool) {
        let h = hidden, g = gateWidth, T = steps
        let hs = hState.storage.base, cs = cState?.storage.base
        let gp = gates.storage.base, before = statesBefore.storage.base
        let maskedBefore = maskedStates?.storage.base, mask = recurrentMask?.storage.base
        let cellBefore = cellsBefore?.storage.base, tanhC = tanhCells?.storage.base
        let rec = recurrentPart?.storage.base
        let whh = weightHH.value.pointer, bhh = biasHH?.value.pointer, bih = biasIH?.value.pointer
        let bias = combinedBias.map { UnsafePointer($0.base) }
        let b0 = rows.lowerBound, m = rows.count
        let hIn = masked ? maskedBefore! : before
        let first = reverse ? T - 1 : 0
        for b in rows {
            (before + (b * T + first) * h).update(repeating: 0, count: h)
            cellBefore.map { ($0 + (b * T + first) * h).update(repeating: 0, count: h) }
        }
        for s in 0..<T {
            let t = reverse ? T - 1 - s : s
            let next: Int? = s == T - 1 ? nil : reverse ? t - 1 : t + 1
            var anyValid = false
            for b in rows {
                let at = (b * T + t) * h
                if masked { for j in 0..<h { maskedBefore![at + j] = before[at + j] * mask![b * h + j] } }
                if t < (lengths.map { Int($0[b]) } ?? T) { anyValid = true }
            }
            if s == 0 {
                // The initial state is 0: no product (GRU: W_hh·h is 0).
                if let rec { for b in rows { (rec + (b * T + t) * g).update(repeating: 0, count: g) } }
            } else if anyValid, ownKernel, let wt = transposedHH?.base {
                // h·W_hhᵀ on nntrain's kernel: into GRU's own buffer, onto the LSTM/RNN gates.
                let out = rec ?? gp
                gemmDirectStrided(m: m, n: g, k: h, hIn + (b0 * T + t) * h, lda: T * h, wt, ldb: g, accumulate: rec == nil,
                                  out + (b0 * T + t) * g, ldc: T * g)
            } else if anyValid {
                if let rec {
                    gemmStrided(transposeB: true, m: m, n: g, k: h, hIn + (b0 * T + t) * h, lda: T * h, whh, ldb: h,
                                beta: 0, rec + (b0 * T + t) * g, ldc: T * g)
                } else {
                    gemmStrided(transposeB: true, m: m, n: g, k: h, hIn + (b0 * T + t) * h, lda: T * h, whh, ldb: h,
                                beta: 1, gp + (b0 * T + t) * g, ldc: T * g)
                }
            }
            for b in rows {
                let at = (b * T + t) * h
                let hOut = next.map { before + (b * T + $0) * h } ?? hs + b * h
                let cOut = cs.map { c in next.map { cellBefore! + (b * T + $0) * h } ?? c + b * h }
                let y = output.map { $0 + (b * T + t) * outputStride }
                guard t < (lengths.map { Int($0[b]) } ?? T) else {
                    // Past the sequence's end: the state is carried, the output is 0.
                    hOut.update(from: before + at, count: h)
                    if let cOut { cOut.update(from: cellBefore! + at, count: h) }
                    y?.update(repeating: 0, count: h)
                    continue
                }
                let gr = gp + (b * T + t) * g
                switch cell {
                case .lstm: RecurrentKernels.lstmForward(gr, bias: bias, cellBefore: cellBefore! + at, cell: cOut!, tanhCell: tanhC! + at, h: hOut, y: y, hidden: h)
                case .gru: RecurrentKernels.gruForward(gr, biasIH: bih, recurrent: rec! + (b * T + t) * g, biasHH: bhh, hBefore: before + at, h: hOut, y: y, hidden: h)
                case .rnnTanh, .rnnReLU: RecurrentKernels.rnnForward(gr, bias: bias, h: hOut, y: y, hidden: h, relu: cell == .rnnReLU)
                }
            }
        }
    }
}

extension Recurrent {
    /// How many parts the batch rows are split into (at least 8 rows a part).
    static func parts(_ batch: Int) -> Int { max(1, min(Parallel.threads, batch / 8)) }
}

/// The rows of part `i` of `parts` over `batch` rows.
func recurrentRows(_ i: Int, parts: Int, batch: Int) -> Range<Int> {
    let per = (batch + parts - 1) / parts
    return min(batch, i * per)..<min(batch, (i + 1) * per)
}

/// One part of the batch rows through every step, forward.
struct RecurrentForward: ParallelLoop {
    unowned(unsafe) let unit: RecurrentUnit
    let batch: Int, parts: Int
    let lengths: UnsafePointer<Int32>?
    let output: UnsafeMutablePointer<Float>?
    let outputStride: Int
    let masked: Bool
    func run(_ range: Range<Int>) {
        for i in range {
            let rows = recurrentRows(i, parts: parts, batch: batch)
            if !rows.isEmpty { unit.forwardRows(rows, lengths: lengths, output: output, outputStride: outputStride, masked: masked) }
        }
    }
}

/// A block of rows of the input projection x·W_ihᵀ, on nntrain's kernel.
struct RecurrentInputProjection: ParallelLoop {
    let x: UnsafePointer<Float>, weights: UnsafePointer<Float>, gates: UnsafeMutablePointer<Float>
    let rows: Int, per: Int, features: Int, width: Int
    func run(_ range: Range<Int>) {
        for i in range {
            let r0 = i * per, r1 = min(rows, r0 + per)
            guard r1 > r0 else { continue }
            gemmDirectStrided(m: r1 - r0, n: width, k: features, x + r0 * features, lda: features, weights, ldb: width,
                              accumulate: false, gates + r0 * width, ldc: width)
        }
    }
}
