import NNCore

extension RecurrentUnit {
    /// Backpropagation through time after a training forward on `input` `[B, T, F]` (as the
    /// unit saw it, after dropout): `dY` is dL/d(h of each step) (row stride `outputStride`
    /// per step; nil: none), `dFinal` dL/d(final state) (row stride `finalStride`; nil: none).
    /// Writes the gradients of the four parameters and keeps the pre-activation gradients for
    /// `inputGradient`.
    func backward(_ dY: UnsafePointer<Float>?, outputStride: Int, dFinal: UnsafePointer<Float>?, finalStride: Int,
                  input: UnsafePointer<Float>, batch: Int, lengths: UnsafePointer<Int32>?, recurrentDropout: Bool) {
        let parts = min(Recurrent.parts(batch), maxParts)
        Parallel.forEach(parts: parts, RecurrentBackward(unit: self, batch: batch, parts: parts, lengths: lengths, dY: dY,
                                                         outputStride: outputStride, dFinal: dFinal, finalStride: finalStride,
                                                         masked: recurrentDropout))
        let g = gateWidth, rows = batch * steps
        let dG = gateGradPointer, dR = recurrentGradPointer
        let states = recurrentDropout ? maskedStatePointer! : statePointer
        // dW_ih = dGᵀ·x, dW_hh = dRᵀ·h_before over every step at once: on nntrain's kernel as
        // xᵀ·dG and h_beforeᵀ·dR (no packing of the large dG), blocks of columns over the pool,
        // then transposed; else two sgemm calls.
        if ownKernel, let scratch = weightGradScratch?.base {
            let blocks = max(1, min(Parallel.threads, g / 64))
            Parallel.forEach(parts: blocks, RecurrentWeightGradients(
                dG: dG, dR: dR, input: input, states: states, rows: rows, features: features, hidden: hidden, gates: g,
                blocks: blocks, scratch: scratch))
            transpose(scratch, rows: features, cols: g, weightIH.grad.pointer)
            transpose(scratch + features * g, rows: hidden, cols: g, weightHH.grad.pointer)
        } else {
            gemm(transposeA: true, m: g, n: features, k: rows, dG, input, weightIH.grad.pointer)
            gemm(transposeA: true, m: g, n: hidden, k: rows, dR, states, weightHH.grad.pointer)
        }
        if let biasIH, let biasHH, let sums = biasGradParts?.base {
            // The parts' sums (taken while each row's gradients were in cache), in part order.
            let dbi = biasIH.grad.pointer, dbh = biasHH.grad.pointer
            dbi.update(from: sums, count: g)
            for p in 1..<parts { let s = sums + p * g; for j in 0..<g { dbi[j] += s[j] } }
            if cell == .gru {
                let r = sums + Parallel.maxThreads * g
                dbh.update(from: r, count: g)
                for p in 1..<parts { let s = r + p * g; for j in 0..<g { dbh[j] += s[j] } }
            } else {
                dbh.update(from: dbi, count: g)
            }
        }
    }

    /// dL/d(input) `[B, T, F]` = dG·W_ih into `dx` (added to it when `accumulate`: the second
    /// direction of a bidirectional layer).
    func inputGradient(into dx: UnsafeMutablePointer<Float>, batch: Int, accumulate: Bool) {
        gemm(m: batch * steps, n: features, k: gateWidth, gateGradPointer, weightIH.value.pointer, beta: accumulate ? 1 : 0, dx)
    }

    /// Rows `rows` of backpropagation through time: the steps in the reverse of the forward's
    /// order, each writing the step's gate gradients and carrying dL/dh (and dL/dc) back.
    func backwardRows(_ rows: Range<Int>, part: Int, lengths: UnsafePointer<Int32>?, dY: UnsafePointer<Float>?, outputStride: Int,
                      dFinal: UnsafePointer<Float>?, finalStride: Int, masked: Bool) {
        let h = hidden, g = gateWidth, T = steps
        let dh = dhStatePointer, dc = dcStatePointer, prod = productPointer, dd = directPointer
        let gp = gatePointer, dG = gateGradPointer, dR = recurrentGradPointer
        let before = statePointer, cellBefore = cellBeforePointer, tanhC = tanhCellPointer, rec = recurrentPartPointer
        let mask = recurrentMaskPointer, whh = weightHH.value.pointer
        let b0 = rows.lowerBound, m = rows.count
        let biasSums = biasGradParts.map { $0.base + part * g }
        let recurrentSums = cell == .gru ? biasGradParts.map { $0.base + (Parallel.maxThreads + part) * g } : nil
        biasSums?.update(repeating: 0, count: g)
        recurrentSums?.update(repeating: 0, count: g)
        for b in rows {
            if let dFinal { (dh + b * h).update(from: dFinal + b * finalStride, count: h) } else { (dh + b * h).update(repeating: 0, count: h) }
        }
        dc.map { ($0 + b0 * h).update(repeating: 0, count: m * h) }
        // Without lengths, masks or GRU's direct part, the product is dL/dh itself for every row.
        let intoState = lengths == nil && !masked && dd == nil
        for s in 0..<T {
            let t = reverse ? s : T - 1 - s
            var anyValid = false
            if cell == .lstm, lengths == nil, m > 0 {
                // Every row is valid: one pass over the step's rows, 16 units at a time.
                let gi = (b0 * T + t) * g, at = (b0 * T + t) * h
                RecurrentKernels.lstmBackwardRows(gp + gi, rowStride: T * g, cellBefore: cellBefore! + at, tanhCell: tanhC! + at,
                                                  stateStride: T * h, dh: dh + b0 * h, dy: dY.map { $0 + (b0 * T + t) * outputStride },
                                                  dyStride: T * outputStride, dc: dc! + b0 * h, dg: dG + gi, sum: biasSums, rows: m, hidden: h,
                                                  portable: portableCells)
                anyValid = true
            } else {
                for b in rows {
                    let gi = (b * T + t) * g, at = (b * T + t) * h
                    guard t < (lengths.map { Int($0[b]) } ?? T) else {
                        (dG + gi).update(repeating: 0, count: g)
                        if dR != dG { (dR + gi).update(repeating: 0, count: g) }
                        continue
                    }
                    anyValid = true
                    let dhb = dh + b * h, dy = dY.map { $0 + (b * T + t) * outputStride }
                    switch cell {
                    case .lstm:
                        RecurrentKernels.lstmBackwardRows(gp + gi, rowStride: g, cellBefore: cellBefore! + at, tanhCell: tanhC! + at, stateStride: h,
                                                          dh: dhb, dy: dy, dyStride: outputStride, dc: dc! + b * h, dg: dG + gi, sum: biasSums,
                                                          rows: 1, hidden: h, portable: portableCells)
                    case .gru:
                        RecurrentKernels.gruBackward(gp + gi, recurrent: rec! + gi, hBefore: before + at, dh: dhb, dy: dy, dgi: dG + gi, drec: dR + gi,
                                                     direct: dd! + b * h, sumIH: biasSums, sumHH: recurrentSums, hidden: h)
                    case .rnnTanh, .rnnReLU:
                        RecurrentKernels.rnnBackward(gp + gi, dh: dhb, dy: dy, da: dG + gi, sum: biasSums, hidden: h, relu: cell == .rnnReLU)
                    }
                }
            }
            // dL/d(initial state) is not needed: the last step backward carries nothing back.
            guard anyValid, s < T - 1 else { continue }
            let target = intoState ? dh : prod
            if !ownKernel
                || !gemmDirectStrided(m: m, n: h, k: g, dR + (b0 * T + t) * g, lda: T * g, whh, ldb: h, accumulate: false, target + b0 * h, ldc: h) {
                gemmStrided(m: m, n: h, k: g, dR + (b0 * T + t) * g, lda: T * g, whh, ldb: h, beta: 0, target + b0 * h, ldc: h)
            }
            if intoState { continue }
            for b in rows where t < (lengths.map { Int($0[b]) } ?? T) {
                let dhb = dh + b * h, p = prod + b * h
                if masked, let mask {
                    let mk = mask + b * h
                    if let dd { for j in 0..<h { dhb[j] = p[j] * mk[j] + dd[b * h + j] } } else { for j in 0..<h { dhb[j] = p[j] * mk[j] } }
                } else {
                    if let dd { for j in 0..<h { dhb[j] = p[j] + dd[b * h + j] } } else { dhb.update(from: p, count: h) }
                }
            }
        }
    }
}

/// One part of the batch rows through every step, backward.
struct RecurrentBackward: ParallelLoop {
    unowned(unsafe) let unit: RecurrentUnit
    let batch: Int, parts: Int
    let lengths: UnsafePointer<Int32>?
    let dY: UnsafePointer<Float>?
    let outputStride: Int
    let dFinal: UnsafePointer<Float>?
    let finalStride: Int
    let masked: Bool
    func run(_ range: Range<Int>) {
        for i in range {
            let rows = recurrentRows(i, parts: parts, batch: batch)
            if !rows.isEmpty {
                unit.backwardRows(rows, part: i, lengths: lengths, dY: dY, outputStride: outputStride, dFinal: dFinal, finalStride: finalStride,
                                  masked: masked)
            }
        }
    }
}

/// A block of columns (gate units) of xᵀ·dG and h_beforeᵀ·dR over every step, on nntrain's kernel.
struct RecurrentWeightGradients: ParallelLoop {
    let dG: UnsafePointer<Float>, dR: UnsafePointer<Float>, input: UnsafePointer<Float>, states: UnsafePointer<Float>
    let rows: Int, features: Int, hidden: Int, gates: Int, blocks: Int
    let scratch: UnsafeMutablePointer<Float>
    func run(_ range: Range<Int>) {
        let per = ((gates + blocks - 1) / blocks + 15) / 16 * 16
        for i in range {
            let c0 = min(gates, i * per), c1 = min(gates, c0 + per)
            guard c1 > c0 else { continue }
            gemmDirectStrided(transposeA: true, m: features, n: c1 - c0, k: rows, input, lda: features, dG + c0, ldb: gates,
                              accumulate: false, scratch + c0, ldc: gates)
            gemmDirectStrided(transposeA: true, m: hidden, n: c1 - c0, k: rows, states, lda: hidden, dR + c0, ldb: gates,
                              accumulate: false, scratch + features * gates + c0, ldc: gates)
        }
    }
}
