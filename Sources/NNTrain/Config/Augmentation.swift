import NNCore

/// One entry of `data.augment` (torchvision/Keras names), applied to training batches only.
public enum Augmentation: Sendable, Equatable {
    case horizontalFlip(p: Float)
    case verticalFlip(p: Float)
    /// Zero-pad by `padding` on every side, then crop the original size at a random offset.
    case randomCrop(padding: Int)
    /// Rotate by an angle ~ U(low, high) degrees about the centre (bilinear, zero fill).
    case rotation(low: Float, high: Float)
    /// Zoom by a factor ~ U(low, high) about the centre.
    case scale(low: Float, high: Float)
    /// Shift by up to `fraction` of the height and width in each direction.
    case translate(fraction: Float)
    /// Add N(0, std²) to every value.
    case gaussianNoise(std: Float)
    /// Zero a size×size square centred at a random pixel (clipped at the borders).
    case cutout(size: Int)
    /// AlexNet's colour augmentation: add Σᵢ αᵢλᵢpᵢ to every pixel, αᵢ ~ N(0, std²), (λᵢ, pᵢ) the
    /// principal components of the training split's RGB values.
    case fancyPCA(std: Float)
    /// A text operation (`TextAugmentation`), applied to token ids before encoding.
    case text(TextAugmentation)

    static let imageTypes = ["horizontal_flip", "vertical_flip", "random_crop", "rotation", "scale", "translate",
                             "gaussian_noise", "cutout", "fancy_pca"]
    static let types = imageTypes + TextAugmentation.types

    static func read(_ r: ObjectReader, baseDirectory: String) -> Augmentation? {
        defer { r.finish() }
        guard let type = r.choice("type", types, default: nil) else { return nil }
        if TextAugmentation.types.contains(type) { return .text(TextAugmentation.read(r, type: type, baseDirectory: baseDirectory)) }
        func range(_ key: String, _ def: [Double], check: NumberCheck) -> (Float, Float) {
            if case .number(let d)? = r.raw(key) {
                // One number m stands for [-m, m]: both ends must pass the range check.
                guard check.accepts(-abs(d)), check.accepts(abs(d)), float32Problem(d, check: check) == nil else {
                    r.diagnostics.error(r.childPath(key), "expected a number m (for [-m, m]) or [low, high] with \(check.phrase("numbers")), got \(shown(d))")
                    return (Float(def[0]), Float(def[1]))
                }
                r.record(key, .array([.number(-abs(d)), .number(abs(d))]))
                return (Float(-abs(d)), Float(abs(d)))
            }
            let v = r.doubles(key, default: def, count: 2, check: check) ?? def
            if v[1] < v[0] { r.diagnostics.error(r.childPath(key), "expected [low, high] with low <= high, got \(v)") }
            return (Float(v[0]), Float(v[1]))
        }
        switch type {
        case "horizontal_flip": return .horizontalFlip(p: r.float("p", default: 0.5, check: .closed(0, 1)))
        case "vertical_flip": return .verticalFlip(p: r.float("p", default: 0.5, check: .closed(0, 1)))
        case "random_crop": return .randomCrop(padding: r.int("padding", default: 4, check: .closed(0, 1024)))
        case "rotation":
            let (a, b) = range("degrees", [-15, 15], check: .closed(-360, 360))
            return .rotation(low: a, high: b)
        case "scale":
            let v = r.doubles("range", default: [0.9, 1.1], count: 2, check: .closed(0.01, 100)) ?? [0.9, 1.1]
            if v[1] < v[0] { r.diagnostics.error(r.childPath("range"), "expected [low, high] with low <= high, got \(v)") }
            return .scale(low: Float(v[0]), high: Float(v[1]))
        case "translate": return .translate(fraction: r.float("fraction", default: 0.1, check: .closed(0, 1)))
        case "gaussian_noise": return .gaussianNoise(std: r.float("std", default: 0.1, check: .nonNegative))
        case "cutout": return .cutout(size: r.int("size", default: 8, check: .closed(1, 4096)))
        default: return .fancyPCA(std: r.float("std", default: 0.1, check: .nonNegative))
        }
    }

    /// True for the transformations that need an image `[C, H, W]`.
    var needsImage: Bool {
        switch self {
        case .gaussianNoise, .text: return false
        default: return true
        }
    }

    /// The text operation, or nil for one on numbers (an image or feature transformation).
    public var textOperation: TextAugmentation? {
        if case .text(let t) = self { return t }
        return nil
    }
}
