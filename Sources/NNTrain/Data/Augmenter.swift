import NNCore


/// Applies `data.augment` to a training batch `[B, C, H, W]` in place, after preprocessing, each
/// sample with its own random draws from the run's augmentation stream. Geometric transforms
/// fill with 0 (the mean, after standardisation). The kernels are static so tests can drive
/// them with known parameters.
public struct Augmenter {
    public let operations: [Augmentation]
    public let channels: Int, height: Int, width: Int
    /// RGB principal components of the training split (for fancy_pca): eigenvalues and
    /// eigenvectors (rows), or nil for images that are not 3-channel.
    public var colorComponents: (values: [Float], vectors: [Float])?
    /// One sample's worth of scratch space.
    private let scratch: TensorStorage

    public init(operations: [Augmentation], sampleShape: [Int]) {
        self.operations = operations
        if sampleShape.count == 3 {
            (channels, height, width) = (sampleShape[0], sampleShape[1], sampleShape[2])
        } else {
            (channels, height, width) = (1, 1, sampleShape.reduce(1, *))
        }
        scratch = TensorStorage(capacity: channels * height * width)
    }

    /// Fits the RGB principal components on up to 2,000 preprocessed training images.
    public mutating func fitColors(on split: DataSplit, preprocessor: Preprocessor) {
        guard channels == 3, operations.contains(where: { if case .fancyPCA = $0 { return true }; return false }) else { return }
        let n = min(split.count, 2000), plane = height * width
        let x = Tensor(zeros: [n, 3, height, width])
        var t = [Float](repeating: 0, count: n * split.dataset.targetWidth)
        preprocessor.fill(x, targets: &t, from: split, start: 0, batch: n)
        var mean = [Double](repeating: 0, count: 3), cov = [Double](repeating: 0, count: 9)
        let p = x.pointer
        for s in 0..<n {
            for k in 0..<plane {
                let v = (0..<3).map { Double(p[(s * 3 + $0) * plane + k]) }
                for i in 0..<3 { mean[i] += v[i]; for j in 0..<3 { cov[i * 3 + j] += v[i] * v[j] } }
            }
        }
        let count = Double(n * plane)
        for i in 0..<3 { mean[i] /= count }
        let c: [Float] = (0..<9).map { Float(cov[$0] / count - mean[$0 / 3] * mean[$0 % 3]) }
        if let e = symmetricEigen(c, n: 3) { colorComponents = (e.values.map { max($0, 0) }, e.vectors) }
    }

    /// Augments `batch` samples of `x` in place.
    public func apply(_ x: Tensor, batch: Int, rng: inout Xoshiro256) {
        let size = channels * height * width
        for s in 0..<batch {
            let sample = x.pointer + s * size
            for op in operations {
                switch op {
                case .horizontalFlip(let p):
                    if rng.nextUnitFloat() < p { Augmenter.flipHorizontal(sample, channels, height, width) }
                case .verticalFlip(let p):
                    if rng.nextUnitFloat() < p { Augmenter.flipVertical(sample, channels, height, width) }
                case .randomCrop(let pad):
                    let dy = rng.below(2 * pad + 1), dx = rng.below(2 * pad + 1)
                    Augmenter.crop(sample, scratch.base, channels, height, width, padding: pad, dy: dy, dx: dx)
                case let .rotation(low, high):
                    let deg = rng.uniform(low, high)
                    Augmenter.warp(sample, scratch.base, channels, height, width, degrees: deg, scale: 1, shiftX: 0, shiftY: 0)
                case let .scale(low, high):
                    let k = rng.uniform(low, high)
                    Augmenter.warp(sample, scratch.base, channels, height, width, degrees: 0, scale: k, shiftX: 0, shiftY: 0)
                case .translate(let f):
                    let tx = rng.uniform(-f, f) * Float(width), ty = rng.uniform(-f, f) * Float(height)
                    Augmenter.warp(sample, scratch.base, channels, height, width, degrees: 0, scale: 1, shiftX: tx, shiftY: ty)
                case .gaussianNoise(let std):
                    for i in 0..<size { sample[i] += std * Float(rng.normal()) }
                case .cutout(let side):
                    let cy = rng.below(height), cx = rng.below(width)
                    Augmenter.cutout(sample, channels, height, width, centerY: cy, centerX: cx, size: side)
                case .fancyPCA(let std):
                    guard let pcs = colorComponents else { continue }
                    var shift: [Float] = [0, 0, 0]
                    for i in 0..<3 {
                        let a = std * Float(rng.normal())
                        for ch in 0..<3 { shift[ch] += a * pcs.values[i] * pcs.vectors[i * 3 + ch] }
                    }
                    Augmenter.addPerChannel(sample, height * width, shift)
                case .text:
                    continue  // applied to token ids before encoding (TextAugmenter)
                }
            }
        }
    }

    // MARK: - Kernels on one sample [C, H, W]

    public static func flipHorizontal(_ x: UnsafeMutablePointer<Float>, _ c: Int, _ h: Int, _ w: Int) {
        for r in 0..<(c * h) {
            let row = x + r * w
            var i = 0, j = w - 1
            while i < j { let t = row[i]; row[i] = row[j]; row[j] = t; i += 1; j -= 1 }
        }
    }

    public static func flipVertical(_ x: UnsafeMutablePointer<Float>, _ c: Int, _ h: Int, _ w: Int) {
        for ch in 0..<c {
            let plane = x + ch * h * w
            for y in 0..<(h / 2) {
                let a = plane + y * w, b = plane + (h - 1 - y) * w
                for k in 0..<w { let t = a[k]; a[k] = b[k]; b[k] = t }
            }
        }
    }

    /// out[y, x] = in[y + dy − padding, x + dx − padding] (0 outside): a crop of the zero-padded
    /// image at offset (dy, dx) ∈ [0, 2·padding]².
    public static func crop(_ x: UnsafeMutablePointer<Float>, _ tmp: UnsafeMutablePointer<Float>, _ c: Int, _ h: Int, _ w: Int,
                            padding: Int, dy: Int, dx: Int) {
        tmp.update(from: x, count: c * h * w)
        for ch in 0..<c {
            for y in 0..<h {
                let sy = y + dy - padding
                for xx in 0..<w {
                    let sx = xx + dx - padding
                    x[(ch * h + y) * w + xx] = sy >= 0 && sy < h && sx >= 0 && sx < w ? tmp[(ch * h + sy) * w + sx] : 0
                }
            }
        }
    }

    /// Rotates counter-clockwise by `degrees`, zooms by `scale` about the centre and shifts by
    /// (shiftX, shiftY) pixels; output pixels sample the input bilinearly (0 outside).
    public static func warp(_ x: UnsafeMutablePointer<Float>, _ tmp: UnsafeMutablePointer<Float>, _ c: Int, _ h: Int, _ w: Int,
                            degrees: Float, scale: Float, shiftX: Float, shiftY: Float) {
        tmp.update(from: x, count: c * h * w)
        let theta = Double(degrees) * Double.pi / 180
        let cosT = Float(cos(theta)), sinT = Float(sin(theta))
        let cx = Float(w - 1) / 2, cy = Float(h - 1) / 2
        for y in 0..<h {
            for xx in 0..<w {
                // Inverse map (y points down, so counter-clockwise on screen):
                // in = R(−θ)·(out − centre − shift)/scale + centre.
                let ox = (Float(xx) - cx - shiftX) / scale, oy = (Float(y) - cy - shiftY) / scale
                let sx = cosT * ox - sinT * oy + cx
                let sy = sinT * ox + cosT * oy + cy
                let x0 = Int(floorf(sx)), y0 = Int(floorf(sy))
                let fx = sx - Float(x0), fy = sy - Float(y0)
                for ch in 0..<c {
                    let plane = tmp + ch * h * w
                    func at(_ yy: Int, _ xq: Int) -> Float { yy >= 0 && yy < h && xq >= 0 && xq < w ? plane[yy * w + xq] : 0 }
                    let v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))
                    x[(ch * h + y) * w + xx] = v
                }
            }
        }
    }

    /// Zeroes the size×size square whose centre is (centerY, centerX), clipped to the image.
    public static func cutout(_ x: UnsafeMutablePointer<Float>, _ c: Int, _ h: Int, _ w: Int, centerY: Int, centerX: Int, size: Int) {
        let y0 = max(0, centerY - size / 2), y1 = min(h, centerY - size / 2 + size)
        let x0 = max(0, centerX - size / 2), x1 = min(w, centerX - size / 2 + size)
        guard y0 < y1 && x0 < x1 else { return }
        for ch in 0..<c { for y in y0..<y1 { (x + (ch * h + y) * w + x0).update(repeating: 0, count: x1 - x0) } }
    }

    public static func addPerChannel(_ x: UnsafeMutablePointer<Float>, _ plane: Int, _ shift: [Float]) {
        for (ch, s) in shift.enumerated() { for k in 0..<plane { x[ch * plane + k] += s } }
    }
}
