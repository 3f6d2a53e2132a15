import CSupport

// A convolution pass's sample blocks over the worker pool (`ConvolutionEngine`): block `part`
// runs its samples chunk by chunk on scratch `part`.

/// Forward of the samples of one block, chunk by chunk.
struct ConvolutionForward: ParallelLoop {
    let engine: ConvolutionEngine
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>?, bias: UnsafePointer<Float>?
    let batch: Int, per: Int
    /// Pooling fused: y is the pooled output.
    let pooled: Bool
    /// The products run on nntrain's own kernel (`gemmDirect`), in the Winograd domain.
    let direct: Bool, winograd: Bool

    func run(_ parts: Range<Int>) {
        for part in parts { block(part) }
    }

    private func block(_ part: Int) {
        let e = engine, sh = e.shape, s = e.scratch[part]
        let spatial = sh.spatial, inSize = sh.inputCount, outSize = sh.outputCount
        let wT = e.weightT.base, relu = e.epilogue.reluFlag
        var b0 = part * per
        let end = min(batch, b0 + per)
        while b0 < end {
            let n = min(e.chunkSamples, end - b0), width = n * spatial
            if winograd {
                e.winogradForward(s, x: x + b0 * inSize, samples: n)
            } else {
                for b in 0..<n { sh.columnsOf(x + (b0 + b) * inSize, s.cols.base + b * spatial, rowStride: width, pad: s.pad.base) }
                gemmDirect(transposeA: true, m: sh.outChannels, n: width, k: sh.patch, wT, s.cols.base, s.z.base, kernel: direct)
            }
            if pooled {
                // Bias, pooling and ReLU straight from the chunk: [out, n·S] → [n, out, S/4].
                let at = b0 * sh.pooledCount
                nn_conv_pool_output(s.z.base, width, y + at, e.poolWinners! + at, sh.pooledCount, bias, Int32(sh.outChannels),
                                    Int32(n), Int32(sh.outHeight), Int32(sh.outWidth), relu)
                b0 += n
                continue
            }
            // [out, n·S] back to [n, out, S], with the bias per channel and the activation.
            nn_conv_output(s.z.base, width, y + b0 * outSize, outSize, pre.map { $0 + b0 * outSize }, bias,
                           Int32(sh.outChannels), Int32(n), spatial, relu)
            if case .elementwise(let f) = e.epilogue { f.apply(y + b0 * outSize, count: n * outSize) }
            b0 += n
        }
    }
}

/// Backward of the samples of one block: dz through the activation, dW/db partial sums into its
/// scratch, and dx when asked.
struct ConvolutionBackward: ParallelLoop {
    let engine: ConvolutionEngine
    let x: UnsafePointer<Float>, y: UnsafePointer<Float>, dz: UnsafeMutablePointer<Float>
    let dx: UnsafeMutablePointer<Float>?, pre: UnsafePointer<Float>?, weight: UnsafePointer<Float>
    let batch: Int, per: Int
    /// Pooling fused: y and dz are the pooled output and its gradient.
    let pooled: Bool
    /// The products run on nntrain's own kernel (`gemmDirect`).
    let direct: Bool
    /// dW too, as dWᵀ += cols·dzᵀ (the partial sums are dWᵀ): when the patch is large enough
    /// (≥ 32) for the product to outweigh transposing dz (fashion-cnn's first convolution, with
    /// a patch of 9, is faster on sgemm).
    let directWeightGradient: Bool
    /// The products run in the Winograd domain (`ConvolutionEngine.winograd`).
    let winograd: Bool

    func run(_ parts: Range<Int>) {
        for part in parts { block(part) }
    }

    private func block(_ part: Int) {
        let e = engine, sh = e.shape, s = e.scratch[part]
        let spatial = sh.spatial, inSize = sh.inputCount, outSize = sh.outputCount, patch = sh.patch
        let relu = e.epilogue.reluFlag
        s.dw.base.update(repeating: 0, count: winograd ? 16 * sh.outChannels * sh.channels : sh.outChannels * patch)
        s.db.base.update(repeating: 0, count: sh.outChannels)
        var b0 = part * per
        let end = min(batch, b0 + per)
        if b0 < end, case .elementwise(let f) = e.epilogue {
            let o0 = b0 * outSize
            f.backward(pre: pre.map { $0 + o0 }, output: y + o0, grad: dz + o0, count: (end - b0) * outSize)
        }
        while b0 < end {
            let n = min(e.chunkSamples, end - b0), width = n * spatial
            // dz of the chunk to [out, n·S] (through the ReLU mask when fused), and its bias sums.
            if pooled {
                let at = b0 * sh.pooledCount
                nn_conv_pool_grad(dz + at, e.poolWinners! + at, y + at, sh.pooledCount, s.z.base, width, s.db.base,
                                  Int32(sh.outChannels), Int32(n), Int32(sh.outHeight), Int32(sh.outWidth), relu)
            } else {
                nn_conv_output_grad(dz + b0 * outSize, y + b0 * outSize, outSize, s.z.base, width, s.db.base,
                                    Int32(sh.outChannels), Int32(n), spatial, relu)
            }
            if winograd {
                e.winogradBackward(s, x: x + b0 * inSize, dx: dx.map { $0 + b0 * inSize }, samples: n)
                b0 += n
                continue
            }
            // dW_t += dz · colsᵀ ([out, n·S] · [n·S, patch]); the direct kernel's B is never
            // transposed, so it takes dW_tᵀ += cols · dzᵀ ([patch, n·S] · [n·S, out]).
            for b in 0..<n { sh.columnsOf(x + (b0 + b) * inSize, s.cols.base + b * spatial, rowStride: width, pad: s.pad.base) }
            if directWeightGradient {
                transpose(s.z.base, rows: sh.outChannels, cols: width, s.zt.base)
                gemmDirect(m: patch, n: sh.outChannels, k: width, s.cols.base, s.zt.base, accumulate: true, s.dw.base, kernel: true)
            } else {
                gemm(transposeB: true, m: sh.outChannels, n: patch, k: width, s.z.base, s.cols.base, beta: 1, s.dw.base, parts: 1)
            }
            if let dx {
                // dcols = Wᵀ [patch, out] · dz [out, n·S], into the cols scratch, then col2im.
                gemmDirect(transposeA: true, m: patch, n: width, k: sh.outChannels, weight, s.z.base, s.cols.base, kernel: direct)
                for b in 0..<n { sh.imageOf(s.cols.base + b * spatial, dx + (b0 + b) * inSize, rowStride: width, pad: s.pad.base) }
            }
            b0 += n
        }
    }
}

extension ConvolutionEngine {
    /// Forward of `samples` samples from x in the Winograd domain, into the chunk's z `[out, n·S]`.
    func winogradForward(_ s: ConvolutionScratch, x: UnsafePointer<Float>, samples n: Int) {
        let sh = shape
        let tiles = sh.tileRows * sh.tileCols, t = n * tiles, spatial = sh.spatial, inSize = sh.inputCount
        let (C, O) = (sh.channels, sh.outChannels)
        let v = s.v!.base, m = s.m!.base, ut = winoUT!.base
        for b in 0..<n {
            nn_wino_input(x + b * inSize, C, sh.height, sh.width, sh.padding.0, sh.padding.1, sh.tileRows, sh.tileCols,
                          s.plane!.base, s.tmp!.base, v + b * tiles * C, t * C)
        }
        for xi in 0..<16 {
            gemmDirect(m: t, n: O, k: C, v + xi * t * C, ut + xi * C * O, m + xi * t * O)
        }
        for b in 0..<n {
            nn_wino_output(m + b * tiles * O, t * O, O, sh.outHeight, sh.outWidth, sh.tileRows, sh.tileCols, s.tmp!.base,
                           s.z.base + b * spatial, n * spatial)
        }
    }

    /// Backward of `samples` samples whose dz `[out, n·S]` is in the chunk's z: dUᵀ partial sums
    /// into s.dw, and dx when asked.
    func winogradBackward(_ s: ConvolutionScratch, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, samples n: Int) {
        let sh = shape
        let tiles = sh.tileRows * sh.tileCols, t = n * tiles, spatial = sh.spatial, inSize = sh.inputCount
        let (C, O) = (sh.channels, sh.outChannels)
        let v = s.v!.base, m = s.m!.base, du = s.dw.base
        for b in 0..<n {
            nn_wino_output_grad(s.z.base + b * spatial, n * spatial, O, sh.outHeight, sh.outWidth, sh.tileRows, sh.tileCols,
                                s.tmp!.base, m + b * tiles * O, t * O)
            nn_wino_input(x + b * inSize, C, sh.height, sh.width, sh.padding.0, sh.padding.1, sh.tileRows, sh.tileCols,
                          s.plane!.base, s.tmp!.base, v + b * tiles * C, t * C)
        }
        // dU_ξᵀ [in, out] += V_ξᵀ · dM_ξ ([tiles, in]ᵀ · [tiles, out]).
        for xi in 0..<16 {
            gemmDirect(transposeA: true, m: C, n: O, k: t, v + xi * t * C, m + xi * t * O, accumulate: true, du + xi * C * O)
        }
        guard let dx else { return }
        // dV_ξ [tiles, in] = dM_ξ [tiles, out] · U_ξ [out, in], into V's buffer, then dx.
        let u = winoU!.base
        for xi in 0..<16 {
            gemmDirect(m: t, n: C, k: O, m + xi * t * O, u + xi * O * C, v + xi * t * C)
        }
        for b in 0..<n {
            nn_wino_input_grad(v + b * tiles * C, t * C, C, sh.height, sh.width, sh.padding.0, sh.padding.1, sh.tileRows,
                               sh.tileCols, s.plane!.base, s.tmp!.base, dx + b * inSize)
        }
    }
}
