import CSupport

/// A 2-D convolution's fast paths (`ConvolutionShape`): z = W ∗ x + b and its gradients, chosen
/// per shape, with the output pass's activation (`ConvolutionEpilogue`) and, when asked, the 2×2/2
/// max pooling after it.
///
/// Lowered to products over cache-sized chunks of samples, the batch split over the worker pool
/// (one block of samples per thread, each with its own scratch): im2col of a chunk gives
/// `cols [in·kh·kw, n·H'·W']`, z = W·cols `[out, n·H'·W']`, then each sample's `[out, H'·W']`
/// block moves to NCHW with the bias and activation.
/// Backward, per chunk: dz to `[out, n·H'·W']`, cols again (recomputed: cheaper than keeping a
/// whole batch's), dW_t += dz·colsᵀ and db_t += Σ dz per thread t, dcols = Wᵀ·dz, dx = col2im;
/// then dW = Σ_t dW_t in thread order (the same result for the same thread count).
/// The chunk products run on nntrain's own AVX-512 kernel where the CPU has it (`gemmDirect`: no
/// packing, no zero fill), which needs B untransposed: forward z = (Wᵀ)ᵀ·cols with Wᵀ made once
/// per pass, and (for patches ≥ 32) dW_tᵀ += cols·dzᵀ with dz transposed per chunk.
/// With stride 1 (the usual case) im2col and col2im run in C (ConvKernels.c: AVX-512 where the CPU
/// has it), and the layout moves carry the bias, ReLU and its mask.
/// A 3×3, stride-1, undilated convolution with ≥ 8 input channels computes its products in the
/// Winograd domain where the kernel runs (`winograd`; Winograd.c: F(2×2, 3×3), 16 multiply-adds
/// per 2×2 output tile and channel pair instead of 36): per chunk, the input tiles' transforms
/// V, 16 products M_ξ = V_ξ·Uᵀ_ξ with the transformed filters U, and the output transform into
/// the same `[out, n·H'·W']` chunk; backward dU_ξᵀ += V_ξᵀ·dM_ξ, dV_ξ = dM_ξ·U_ξ and the
/// adjoint transforms (the exact adjoints, so the gradient is that of the computed function).
/// With ReLU or no activation, a pass can pool 2×2/2 (max) while its chunks are in cache
/// (`pooled`, `canPool`): the full-size output never reaches memory.
public final class ConvolutionEngine {
    public let shape: ConvolutionShape
    public let epilogue: ConvolutionEpilogue
    /// Samples per chunk: a chunk's cols and z together stay near 512 KB, so they live in L2
    /// (1 MB per core on the benchmark machine) from im2col through the product to the output
    /// pass (set by `allocate`; tests may change it after).
    public var chunkSamples = 1
    /// Sample blocks per pass (tests); by default the run's thread count (`setBLASThreads`),
    /// not the pool's size, so the partial sums of dW depend only on the run's settings.
    public var blockCount: Int?
    /// The chunk products run on nntrain's own AVX-512 kernel (`gemmDirect`) where the CPU has it;
    /// tests turn it off (before `allocate`) to compare with sgemm.
    public var directGEMM = DirectGEMM.isAvailable
    /// Winograd F(2×2, 3×3) where it applies (`winograd`); tests turn it off to compare.
    public var winogradAllowed = true
    /// Per pool thread: cols / dcols of a chunk, z / dz of a chunk, dW and db partial sums.
    var scratch: [ConvolutionScratch] = []
    /// Wᵀ `[patch, out]` for the forward product (the direct kernel broadcasts a column of A from
    /// one pointer at fixed offsets, cheaper than from a row of W at a stride).
    var weightT = TensorStorage(capacity: 0)
    /// Transformed filters: U `[16, out, in]` and Uᵀ `[16, in, out]` (made once per forward pass).
    var winoU: TensorStorage?, winoUT: TensorStorage?
    /// The winners of a pooled pass (index in each output plane), for its backward.
    var poolWinners: UnsafeMutablePointer<Int32>?

    public init(shape: ConvolutionShape, epilogue: ConvolutionEpilogue) {
        self.shape = shape
        self.epilogue = epilogue
    }

    deinit { poolWinners?.deallocate() }

    /// Whether the products run in the Winograd domain: a 3×3, stride-1, undilated kernel with
    /// at least 8 input channels (fewer leave the 16 products too short to pay for the
    /// transforms), on the direct kernel.
    public var winograd: Bool {
        winogradAllowed && directGEMM && shape.kernel == (3, 3) && shape.stride == (1, 1) && shape.dilation == (1, 1)
            && shape.channels >= 8
    }

    /// Whether a pass can pool 2×2/2 (max) inside its output pass: after ReLU or no activation
    /// (max commutes with both), on an output of at least 2×2.
    public var canPool: Bool { !epilogue.isElementwise && shape.outHeight >= 2 && shape.outWidth >= 2 }

    /// Sizes the scratch for batches of up to `maxBatch` samples (`allocatePooling` adds room
    /// for pooled passes).
    public func allocate(maxBatch: Int) {
        let s = shape
        chunkSamples = max(1, min(maxBatch, (1 << 17) / max(1, (s.patch + s.outChannels) * s.spatial)))
        weightT = TensorStorage(capacity: winograd ? 0 : s.outChannels * s.patch)
        if winograd {
            // The chunk's V and M (16 floats per tile and channel) near 512 KB.
            chunkSamples = max(1, min(maxBatch, (1 << 17) / (16 * s.tileRows * s.tileCols * (s.channels + s.outChannels))))
            winoU = TensorStorage(capacity: 16 * s.outChannels * s.channels)
            winoUT = TensorStorage(capacity: 16 * s.outChannels * s.channels)
        }
        scratch = []
    }

    /// Room for the winners of pooled passes of up to `maxBatch` samples.
    public func allocatePooling(maxBatch: Int) {
        poolWinners?.deallocate()
        poolWinners = .allocate(capacity: maxBatch * shape.pooledCount)
    }

    /// y = epilogue(W ∗ x + b) for `batch` samples x `[batch, in, H, W]` into y `[batch, out, H', W']`,
    /// or, `pooled`, its 2×2/2 max pooling into y `[batch, out, H'/2, W'/2]` (`canPool`; winners kept
    /// for `backward`). W `[out, in, kh, kw]`, b `[out]` (nil: none); `pre` gets W ∗ x + b when the
    /// epilogue's derivative needs it.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        output y: UnsafeMutablePointer<Float>, preActivation pre: UnsafeMutablePointer<Float>?, pooled: Bool) {
        let s = shape
        if winograd {
            nn_wino_filter(weight, s.outChannels, s.channels, winoU!.base, winoUT!.base)
        } else {
            transpose(weight, rows: s.outChannels, cols: s.patch, weightT.base)
        }
        ensureScratch()
        let (parts, per) = blocks(batch)
        Parallel.forEach(parts: parts, ConvolutionForward(engine: self, x: x, y: y, pre: pre, bias: bias, batch: batch, per: per,
                                                          pooled: pooled, direct: directGEMM, winograd: winograd))
    }

    /// The gradients of the last `forward` (with the same x, y, pooled): dW `[out, in, kh, kw]` and
    /// db `[out]` (nil: no bias) overwritten, dx `[batch, in, H, W]` when not nil. dy is dLoss/dy
    /// (pooled: of the pooled output) and is overwritten; W as in forward.
    public func backward(_ x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
                         output y: UnsafePointer<Float>, outputGrad dy: UnsafeMutablePointer<Float>,
                         preActivation pre: UnsafePointer<Float>?, inputGrad dx: UnsafeMutablePointer<Float>?,
                         weightGrad dw: UnsafeMutablePointer<Float>, biasGrad db: UnsafeMutablePointer<Float>?, pooled: Bool) {
        let s = shape
        ensureScratch()
        let (parts, per) = blocks(batch)
        let loop = ConvolutionBackward(engine: self, x: x, y: y, dz: dy, dx: dx, pre: pre, weight: weight, batch: batch, per: per,
                                       pooled: pooled, direct: directGEMM, directWeightGradient: directGEMM && s.patch >= 32,
                                       winograd: winograd)
        Parallel.forEach(parts: parts, loop)
        // dW and db: the blocks' partial sums, added in block order — in the layout the products
        // left them (dWᵀ on the direct kernel, dUᵀ with Winograd), then turned into dW.
        let size = loop.winograd ? 16 * s.outChannels * s.channels : s.outChannels * s.patch
        let inPlace = loop.winograd || loop.directWeightGradient
        let sum = inPlace ? scratch[0].dw.base : dw
        if !inPlace { dw.update(from: scratch[0].dw.base, count: size) }
        for t in 1..<max(1, parts) { let src = scratch[t].dw.base; for i in 0..<size { sum[i] += src[i] } }
        if loop.winograd {
            nn_wino_filter_grad(sum, s.outChannels, s.channels, dw)
        } else if loop.directWeightGradient {
            transpose(sum, rows: s.patch, cols: s.outChannels, dw)
        }
        if let db {
            db.update(from: scratch[0].db.base, count: s.outChannels)
            for t in 1..<max(1, parts) { let src = scratch[t].db.base; for o in 0..<s.outChannels { db[o] += src[o] } }
        }
    }

    /// Sample blocks of a pass: `parts` blocks of `per` samples (the last may be shorter).
    private func blocks(_ batch: Int) -> (parts: Int, per: Int) {
        let t = max(1, min(batch, blockCount ?? gemmThreads))
        let per = (batch + t - 1) / t
        return ((batch + per - 1) / per, per)
    }

    /// One scratch set per pool thread (sized once; grown only if the pool grows).
    private func ensureScratch() {
        let s = shape
        let threads = max(1, blockCount ?? gemmThreads)
        let width = chunkSamples * s.spatial
        let wino = winograd
        while scratch.count < threads {
            var t = ConvolutionScratch(cols: TensorStorage(capacity: wino ? 0 : s.patch * width),
                                       z: TensorStorage(capacity: s.outChannels * width),
                                       zt: TensorStorage(capacity: wino ? 0 : s.outChannels * width),
                                       dw: TensorStorage(capacity: wino ? 16 * s.outChannels * s.channels : s.outChannels * s.patch),
                                       db: TensorStorage(capacity: s.outChannels),
                                       pad: TensorStorage(capacity: wino ? 0 : (s.height + 2 * s.padding.0) * (s.width + 2 * s.padding.1)))
            if wino {
                let tiles = chunkSamples * s.tileRows * s.tileCols
                t.v = TensorStorage(capacity: 16 * tiles * s.channels)
                t.m = TensorStorage(capacity: 16 * tiles * s.outChannels)
                t.plane = TensorStorage(capacity: (2 * s.tileRows + 2) * (2 * s.tileCols + 2) * s.channels)
                t.tmp = TensorStorage(capacity: max(s.height * s.width * s.channels, s.spatial * s.outChannels))
            }
            scratch.append(t)
        }
    }
}

/// What a convolution's output pass applies to z = W ∗ x + b.
public enum ConvolutionEpilogue {
    /// y = z.
    case linear
    /// y = max(z, 0), in the output pass (and its mask in backward's).
    case relu
    /// y = f(z) for an element-wise f, applied to each chunk's output after the pass (pre keeps z
    /// when f' needs it).
    case elementwise(any ElementwiseActivation)

    /// 1 for the C output passes' ReLU flag.
    var reluFlag: Int32 {
        if case .relu = self { return 1 }
        return 0
    }

    var isElementwise: Bool {
        if case .elementwise = self { return true }
        return false
    }
}

/// An element-wise activation that a convolution applies to its output (other than ReLU, which
/// the output pass does itself).
public protocol ElementwiseActivation {
    /// y = f(y) in place for `count` values.
    func apply(_ y: UnsafeMutablePointer<Float>, count: Int)
    /// dz = dz·f'(z) in place, from the outputs y = f(z) and (when f' needs it) z itself.
    func backward(pre: UnsafePointer<Float>?, output y: UnsafePointer<Float>, grad dz: UnsafeMutablePointer<Float>, count: Int)
}

/// A convolution's per-thread scratch.
struct ConvolutionScratch {
    /// zt: dzᵀ of a chunk; dw: dWᵀ when dW runs on the direct kernel, dUᵀ `[16, in, out]` with Winograd.
    var cols: TensorStorage, z: TensorStorage, zt: TensorStorage, dw: TensorStorage, db: TensorStorage
    /// One zero-padded input plane (stride-1 im2col/col2im).
    var pad: TensorStorage
    /// Winograd: V (or dV) `[16, tiles, in]` and M (or dM) `[16, tiles, out]` of a chunk, a padded
    /// channels-last plane and a sample-sized staging buffer.
    var v: TensorStorage? = nil, m: TensorStorage? = nil, plane: TensorStorage? = nil, tmp: TensorStorage? = nil
}
