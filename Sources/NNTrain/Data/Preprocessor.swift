import NNCore

/// The fitted preprocessing of `data.preprocess`: every supported step is an affine map per
/// feature, so the chain folds into one `x' = a_j·x + b_j` applied while a batch is assembled.
///
/// Statistics are fitted on the training split only (mean, population variance, min, max over
/// the training examples) and applied unchanged to validation and test data.
/// - center: x − mean
/// - standardize: (x − mean) / max(std, min_std), min_std ("auto") a tenth of the mean std over
///   the groups; a group whose divisor is still 0 is only centred, as scikit-learn does
/// - minmax: lo + (x − min)·(hi − lo)/(max − min)
/// `per`: statistics per feature, per channel (images `[C, H, W]`) or one for all features.
public struct Preprocessor: Sendable, Equatable {
    /// a_j, including the stored-value scale (1/255 for pixels).
    public var scale: [Float]
    /// b_j.
    public var shift: [Float]
    /// A final PCA/ZCA step: the `[outputCount, F]` matrix P applied after the affine map (whose
    /// shift then also subtracts the training mean), x' = P·(a⊙x + b − μ).
    public var projection: [Float]? = nil
    public var outputCount: Int

    public init(scale: [Float], shift: [Float]) { self.scale = scale; self.shift = shift; outputCount = scale.count }

    /// The identity on raw inputs of a dataset (pixels still scaled to [0, 1]).
    public static func identity(for dataset: Dataset) -> Preprocessor {
        Preprocessor(scale: [Float](repeating: dataset.storedScale, count: dataset.featureCount),
                     shift: [Float](repeating: 0, count: dataset.featureCount))
    }

    /// Fits `steps` on `split` (the training split).
    public static func fit(_ steps: [PreprocessStep], on split: DataSplit) -> Preprocessor {
        let ds = split.dataset
        let f = ds.featureCount
        var p = identity(for: ds)
        guard !steps.isEmpty, split.count > 0 else { return p }
        // Raw statistics of stored values, once.
        var sum = [Double](repeating: 0, count: f), sq = [Double](repeating: 0, count: f)
        var lo = [Float](repeating: .infinity, count: f), hi = [Float](repeating: -.infinity, count: f)
        for idx in split.indices {
            let i = Int(idx)
            switch ds.storage {
            case .bytes(let b):
                b.withUnsafeBufferPointer { bp in
                    let row = bp.baseAddress! + i * f
                    for j in 0..<f { let v = Float(row[j]); sum[j] += Double(v); sq[j] += Double(v * v); lo[j] = min(lo[j], v); hi[j] = max(hi[j], v) }
                }
            case .floats(let x):
                x.withUnsafeBufferPointer { xp in
                    let row = xp.baseAddress! + i * f
                    for j in 0..<f { let v = row[j]; sum[j] += Double(v); sq[j] += Double(v) * Double(v); lo[j] = min(lo[j], v); hi[j] = max(hi[j], v) }
                }
            }
        }
        let n = Double(split.count)
        let rawMean = sum.map { $0 / n }
        let rawVar = (0..<f).map { max(0, sq[$0] / n - rawMean[$0] * rawMean[$0]) }
        let channels = ds.sampleShape.count == 3 ? ds.sampleShape[0] : 1
        for step in steps where !step.isLinearProjection {
            // Statistics of the current (already transformed) values, per feature.
            var mean = [Double](repeating: 0, count: f), second = [Double](repeating: 0, count: f)
            var mn = [Double](repeating: 0, count: f), mx = [Double](repeating: 0, count: f)
            for j in 0..<f {
                let a = Double(p.scale[j]), b = Double(p.shift[j])
                mean[j] = a * rawMean[j] + b
                second[j] = a * a * rawVar[j] + mean[j] * mean[j]
                let l = a * Double(lo[j]) + b, h = a * Double(hi[j]) + b
                mn[j] = min(l, h); mx[j] = max(l, h)
            }
            // Group features (per feature, channel or globally).
            let groupOf: (Int) -> Int
            let groups: Int
            switch step.per {
            case .feature: groupOf = { $0 }; groups = f
            case .channel: let per = f / channels; groupOf = { $0 / per }; groups = channels
            case .global: groupOf = { _ in 0 }; groups = 1
            }
            var gMean = [Double](repeating: 0, count: groups), gSecond = [Double](repeating: 0, count: groups)
            var gMin = [Double](repeating: .infinity, count: groups), gMax = [Double](repeating: -.infinity, count: groups)
            var gCount = [Double](repeating: 0, count: groups)
            for j in 0..<f {
                let g = groupOf(j)
                gMean[g] += mean[j]; gSecond[g] += second[j]; gCount[g] += 1
                gMin[g] = min(gMin[g], mn[j]); gMax[g] = max(gMax[g], mx[j])
            }
            for g in 0..<groups { gMean[g] /= gCount[g]; gSecond[g] /= gCount[g] }
            let gStd = (0..<groups).map { max(0, gSecond[$0] - gMean[$0] * gMean[$0]).squareRoot() }
            let minStd = step.minStd ?? 0.1 * gStd.reduce(0, +) / Double(max(1, groups))
            for j in 0..<f {
                let g = groupOf(j)
                var a = Double(p.scale[j]), b = Double(p.shift[j])
                switch step.kind {
                case .center:
                    b -= gMean[g]
                case .standardize:
                    let std = max(gStd[g], minStd)
                    b -= gMean[g]
                    if std > 1e-7 { a /= std; b /= std }
                case .minmax:
                    let range = gMax[g] - gMin[g]
                    let k = range > 1e-12 ? Double(step.range.1 - step.range.0) / range : 1
                    b = Double(step.range.0) + (b - gMin[g]) * k
                    a *= k
                case .pca, .zca:
                    break
                }
                p.scale[j] = Float(a); p.shift[j] = Float(b)
            }
        }
        if let last = steps.last, last.isLinearProjection { p.fitProjection(last, on: split) }
        return p
    }

    /// Why this fitted preprocessing of `steps` cannot be used on `split` (the training split
    /// it was fitted on): statistics that are not finite, or a PCA/ZCA step whose
    /// eigendecomposition failed or overflowed. These are properties of the data, so the caller
    /// reports them as a data error (exit 3) naming the file. Nil if fine. (Raw inputs that are
    /// merely huge are left to training: `training.on_nan` decides what a NaN loss does.)
    public func problem(steps: [PreprocessStep], on split: DataSplit) -> String? {
        let f = scale.count
        if let bad = (0..<f).first(where: { !scale[$0].isFinite || !shift[$0].isFinite }) {
            return "fitting data.preprocess on the training data gave a non-finite scale or shift for feature \(bad): "
                + "its values are too large for Float32 statistics; rescale the data"
        }
        if let last = steps.last, last.isLinearProjection, split.count > 0 {
            guard let projection else {
                return "the \(last.kind.rawValue) step of data.preprocess could not be fitted: the covariance of the training data "
                    + "has no eigendecomposition (values too large for Float32); standardize before it or rescale the data"
            }
            if projection.contains(where: { !$0.isFinite }) {
                return "the \(last.kind.rawValue) step of data.preprocess gave non-finite components: the covariance of the training "
                    + "data overflows Float32; standardize before it or rescale the data"
            }
        }
        return nil
    }

    /// PCA / ZCA on the training split after the affine steps (Pearson 1901; Bell & Sejnowski
    /// 1997): C = covariance (population), C = U·diag(λ)·Uᵀ (LAPACK ssyevd), components in
    /// decreasing λ. PCA keeps k rows uᵢᵀ (÷ √(λᵢ + eps) with `whiten`); ZCA is
    /// U·diag(1/√(λ + eps))·Uᵀ (F × F), which whitens while staying close to the input.
    mutating func fitProjection(_ step: PreprocessStep, on split: DataSplit) {
        let f = scale.count
        let n = split.count
        let chunk = 512
        let rows = TensorStorage(capacity: chunk * f)
        var cov = [Float](repeating: 0, count: f * f)
        var mean = [Double](repeating: 0, count: f)
        var targets = [Float](repeating: 0, count: chunk * split.dataset.targetWidth)
        var start = 0
        var unprojected = self
        unprojected.projection = nil
        while start < n {
            let b = min(chunk, n - start)
            let x = Tensor(viewing: rows, shape: Shape(b, f))
            targets.withUnsafeMutableBufferPointer { t in unprojected.fill(x, targets: t.baseAddress!, from: split, start: start, batch: b) }
            for r in 0..<b { for j in 0..<f { mean[j] += Double(x.pointer[r * f + j]) } }
            cov.withUnsafeMutableBufferPointer { c in
                gemm(transposeA: true, m: f, n: f, k: b, x.pointer, x.pointer, beta: 1, c.baseAddress!)
            }
            start += b
        }
        for j in 0..<f { mean[j] /= Double(n) }
        for i in 0..<f { for j in 0..<f { cov[i * f + j] = Float(Double(cov[i * f + j]) / Double(n) - mean[i] * mean[j]) } }
        guard let (values, vectors) = symmetricEigen(cov, n: f) else { return }
        // Fold the centring into the shift: a⊙x + (b − μ).
        for j in 0..<f { shift[j] -= Float(mean[j]) }
        let order = Array((0..<f).reversed())  // eigenvalues ascend; largest first
        let eps = Double(step.eps)
        if step.kind == .zca {
            var w = [Float](repeating: 0, count: f * f)
            for k in 0..<f {
                let s = 1 / (max(Double(values[k]), 0) + eps).squareRoot()
                for i in 0..<f {
                    let ui = Double(vectors[k * f + i]) * s
                    for j in 0..<f { w[i * f + j] += Float(ui * Double(vectors[k * f + j])) }
                }
            }
            projection = w
            outputCount = f
            return
        }
        var k = step.components ?? f
        if let fraction = step.varianceFraction {
            let total = values.reduce(0) { $0 + max(Double($1), 0) }
            var acc = 0.0
            k = 0
            for idx in order {
                acc += max(Double(values[idx]), 0)
                k += 1
                if acc >= fraction * total { break }
            }
        }
        k = min(k, f)
        var p = [Float](repeating: 0, count: k * f)
        for (row, idx) in order.prefix(k).enumerated() {
            let s = step.whiten ? 1 / (max(Double(values[idx]), 0) + eps).squareRoot() : 1
            for j in 0..<f { p[row * f + j] = Float(Double(vectors[idx * f + j]) * s) }
        }
        projection = p
        outputCount = k
    }

    /// Writes the preprocessed features of `split` examples `[start, start + batch)` (in the
    /// order of `order`, or the split's own order) into `input`, and their targets into `targets`.
    /// With a PCA/ZCA projection, `scratch` (room for `batch` raw feature rows) holds the
    /// affine stage before the product with Pᵀ lands in `input`.
    public func fill(_ input: Tensor, targets: UnsafeMutablePointer<Float>, from split: DataSplit,
                     order: [Int32]? = nil, start: Int, batch: Int, scratch: TensorStorage? = nil) {
        let ds = split.dataset
        let f = ds.featureCount
        if projection != nil {
            let affineRows = projectionScratch(scratch, batch: batch, features: f)
            var affine = self
            affine.projection = nil
            affine.fill(Tensor(viewing: affineRows, shape: Shape(batch, f)), targets: targets, from: split, order: order,
                        start: start, batch: batch)
            project(affineRows.base, batch: batch, into: input)
            return
        }
        let out = input.pointer
        let idx = order ?? split.indices
        scale.withUnsafeBufferPointer { a in
            shift.withUnsafeBufferPointer { b in
                let ap = a.baseAddress!, bp = b.baseAddress!
                switch ds.storage {
                case .bytes(let bytes):
                    // Rows split over the worker pool (each row on its own).
                    bytes.withUnsafeBufferPointer { src in
                        idx.withUnsafeBufferPointer { ip in
                            Parallel.forEach(batch, minimum: batch * f >= 65_536 ? 2 : batch + 1, align: 1,
                                             ByteRowsAffine(src: src.baseAddress!, idx: ip.baseAddress! + start, out: out, a: ap,
                                                            b: bp, features: f))
                        }
                    }
                case .floats(let x):
                    x.withUnsafeBufferPointer { src in
                        for r in 0..<batch { Preprocessor.affineRow(src.baseAddress! + Int(idx[start + r]) * f, out + r * f, ap, bp, f) }
                    }
                }
            }
        }
        fillTargets(targets, from: split, order: order, start: start, batch: batch)
    }

    /// Writes the targets of `split` examples `[start, start + batch)` (in the order of
    /// `order`, or the split's own order) into `targets`.
    public func fillTargets(_ targets: UnsafeMutablePointer<Float>, from split: DataSplit, order: [Int32]? = nil, start: Int, batch: Int) {
        let idx = order ?? split.indices, tw = split.dataset.targetWidth
        split.dataset.targets.withUnsafeBufferPointer { t in
            for r in 0..<batch {
                let i = Int(idx[start + r])
                for k in 0..<tw { targets[r * tw + k] = t[i * tw + k] }
            }
        }
    }

    /// Preprocesses `batch` raw feature rows (values as stored, such as a text augmentation's
    /// encoding) into `input`, as `fill` does a dataset's; `scratch` as there (it must not be
    /// `rows`).
    public func fill(_ input: Tensor, rawRows rows: UnsafePointer<Float>, batch: Int, scratch: TensorStorage? = nil) {
        let f = scale.count
        let affineRows = projection == nil ? nil : projectionScratch(scratch, batch: batch, features: f)
        let out = affineRows?.base ?? input.pointer
        scale.withUnsafeBufferPointer { a in
            shift.withUnsafeBufferPointer { b in
                for r in 0..<batch { Preprocessor.affineRow(rows + r * f, out + r * f, a.baseAddress!, b.baseAddress!, f) }
            }
        }
        if affineRows != nil { project(out, batch: batch, into: input) }
    }

    /// o = x ⊙ a + b over one row of `count` features.
    @inline(__always)
    static func affineRow(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                          _ b: UnsafePointer<Float>, _ count: Int) {
        for j in 0..<count { o[j] = x[j] * a[j] + b[j] }
    }

    /// The buffer for the affine stage before a projection: `scratch` when it holds `batch`
    /// rows (the trainer sizes one per batch slot), else a new one (a caller that passed none:
    /// slower, never wrong).
    private func projectionScratch(_ scratch: TensorStorage?, batch: Int, features: Int) -> TensorStorage {
        if let scratch, scratch.capacity >= batch * features { return scratch }
        return TensorStorage(capacity: max(1, batch * features))
    }

    /// input = rows·Pᵀ: the `batch` affine rows through the PCA/ZCA projection.
    private func project(_ rows: UnsafePointer<Float>, batch: Int, into input: Tensor) {
        guard let projection else { return }
        projection.withUnsafeBufferPointer { p in
            gemm(transposeB: true, m: batch, n: outputCount, k: scale.count, rows, p.baseAddress!, input.pointer)
        }
    }
}
