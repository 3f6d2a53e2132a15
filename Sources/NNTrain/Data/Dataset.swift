import NNCore

/// Examples of one file set, kept compact: IDX pixels stay bytes and are converted to floats
/// per batch, together with preprocessing.
public final class Dataset: @unchecked Sendable {
    public enum Storage: Sendable, Equatable {
        case bytes([UInt8])
        case floats([Float])
    }

    public let storage: Storage
    /// Multiplier that turns a stored value into the model's raw input (1/255 for pixels).
    public let storedScale: Float
    public let count: Int
    /// Per-sample shape: `[1, 28, 28]` for IDX images, `[F]` for CSV rows.
    public let sampleShape: [Int]
    public let featureCount: Int
    /// `count · targetWidth` targets: class indices (as floats) or regression values.
    public let targets: [Float]
    public let targetWidth: Int
    /// Number of classes seen (max label + 1) for classification; nil for regression.
    public let classCount: Int?
    /// Files this came from, for messages.
    public let origin: String
    /// Whether `targets` are labels read from the data (false: zeros, data to predict).
    public let hasLabels: Bool
    /// A text source's examples before `encoded(with:config:)` turns them into features.
    public let texts: [String]?
    /// An encoded text dataset's token ids per example, all of them (before a sequence is cut
    /// to `max_length`), kept for the text augmentations; nil otherwise.
    public let tokenIDs: [[Int32]]?

    public init(storage: Storage, storedScale: Float, count: Int, sampleShape: [Int], targets: [Float],
                targetWidth: Int = 1, classCount: Int?, origin: String, hasLabels: Bool = true, texts: [String]? = nil,
                tokenIDs: [[Int32]]? = nil) {
        self.storage = storage
        self.storedScale = storedScale
        self.count = count
        self.sampleShape = sampleShape
        featureCount = sampleShape.reduce(1, *)
        self.targets = targets
        self.targetWidth = targetWidth
        self.classCount = classCount
        self.origin = origin
        self.hasLabels = hasLabels
        self.texts = texts
        self.tokenIDs = tokenIDs
    }

    /// Raw (unpreprocessed) feature j of sample i, as the model would see it with no preprocessing.
    @inline(__always)
    public func value(_ i: Int, _ j: Int) -> Float {
        switch storage {
        case .bytes(let b): return Float(b[i * featureCount + j]) * storedScale
        case .floats(let f): return f[i * featureCount + j] * storedScale
        }
    }

    /// Loads a data source. Classification labels must be whole numbers in 0..<`maxClasses`.
    public static func load(_ source: DataSource, task: Task, maxClasses: Int = 1 << 16) throws(DataError) -> Dataset {
        switch source {
        case let .idx(imagesPath, nil):
            let images = try IDX.read(imagesPath)
            guard images.dims.count >= 2, images.dims[0] > 0 else {
                throw DataError(file: imagesPath, "expected IDX images with rank 2 or more and at least one image, got dimensions \(images.dims)")
            }
            var shape = Array(images.dims.dropFirst())
            if shape.count == 2 { shape = [1] + shape }
            return Dataset(storage: .bytes(images.bytes), storedScale: 1 / 255, count: images.dims[0], sampleShape: shape,
                           targets: [Float](repeating: 0, count: images.dims[0]), classCount: nil, origin: imagesPath, hasLabels: false)
        case let .idx(imagesPath, labelsPath?):
            let images = try IDX.read(imagesPath)
            let labels = try IDX.read(labelsPath)
            guard labels.dims.count == 1 else {
                throw DataError(file: labelsPath, "expected a rank-1 IDX label file, got dimensions \(labels.dims)")
            }
            guard images.dims.count >= 2 else {
                throw DataError(file: imagesPath, "expected IDX images with rank 2 or more, got dimensions \(images.dims)")
            }
            let n = images.dims[0]
            guard labels.dims[0] == n else {
                throw DataError(file: labelsPath, "has \(labels.dims[0]) labels but \(imagesPath) has \(n) images")
            }
            guard n > 0 else { throw DataError(file: imagesPath, "contains no images") }
            var shape = Array(images.dims.dropFirst())
            if shape.count == 2 { shape = [1] + shape }  // [H, W] → [1, H, W] (NCHW, one channel)
            var targets = [Float](repeating: 0, count: n)
            var maxLabel = 0
            for i in 0..<n {
                let l = Int(labels.bytes[i])
                if task == .classification && l >= maxClasses {
                    throw DataError(file: labelsPath, "label \(l) of example \(i) is out of range 0..<\(maxClasses)")
                }
                maxLabel = max(maxLabel, l)
                targets[i] = Float(l)
            }
            return Dataset(storage: .bytes(images.bytes), storedScale: 1 / 255, count: n, sampleShape: shape,
                           targets: targets, classCount: task == .classification ? maxLabel + 1 : nil,
                           origin: imagesPath)
        case .cifar10(let files):
            return try CIFAR10.load(files, task: task)
        case let .text(path, label, text, header, delimiter):
            return try TextReader.load(path: path, labelColumn: label, textColumn: text, header: header, delimiter: delimiter,
                                       task: task, maxClasses: maxClasses)
        case let .filtered(base, classes, limit, seed):
            return try load(base, task: task, maxClasses: maxClasses).filtered(classes: classes, perClassLimit: limit, seed: seed)
        case let .csv(path, column, header, delimiter):
            return try CSVReader.load(path: path, labelColumn: column, header: header, delimiter: delimiter,
                                      task: task, maxClasses: maxClasses)
        }
    }
}

extension Dataset {
    /// The examples whose label is in `classes` (nil: every class), at most `perClassLimit` of
    /// each class (nil: no cap): the first that many of the class in a permutation of all
    /// examples seeded with `seed` (the `sampling` stream), kept in file order. Labels are
    /// kept as they are, so a model with every class's output can train on a part of them.
    /// A filter that keeps no example is a data error naming the classes present.
    public func filtered(classes: [Int]?, perClassLimit: Int?, seed: UInt64) throws(DataError) -> Dataset {
        guard hasLabels, classCount != nil else {
            throw DataError(file: origin, "classes and per_class_limit need class labels")
        }
        let wanted = classes.map(Set.init)
        var order = Array(0..<count)
        if perClassLimit != nil {
            var rng = Xoshiro256(seed: seed, stream: .sampling)
            rng.shuffle(&order)
        }
        var taken: [Int: Int] = [:]
        var keep = [Bool](repeating: false, count: count)
        for i in order {
            let label = Int(targets[i * targetWidth])
            if let wanted, !wanted.contains(label) { continue }
            if let cap = perClassLimit, taken[label, default: 0] >= cap { continue }
            taken[label, default: 0] += 1
            keep[i] = true
        }
        let indices = (0..<count).filter { keep[$0] }
        guard !indices.isEmpty else {
            let present = Set((0..<count).map { Int(targets[$0 * targetWidth]) }).sorted()
            throw DataError(file: origin, "no example has one of the classes \(classes ?? []); its labels are \(present.prefix(20))")
        }
        let f = featureCount
        func gather<T>(_ v: [T]) -> [T] { indices.flatMap { v[($0 * f)..<(($0 + 1) * f)] } }
        let storage: Storage
        switch self.storage {
        case .bytes(let b): storage = .bytes(gather(b))
        case .floats(let v): storage = .floats(gather(v))
        }
        let t = indices.flatMap { targets[($0 * targetWidth)..<(($0 + 1) * targetWidth)] }
        let maxLabel = indices.map { Int(targets[$0 * targetWidth]) }.max() ?? 0
        return Dataset(storage: storage, storedScale: storedScale, count: indices.count, sampleShape: sampleShape, targets: t,
                       targetWidth: targetWidth, classCount: maxLabel + 1, origin: origin, hasLabels: true,
                       texts: texts.map { all in indices.map { all[$0] } })
    }
}

/// A subset of a dataset's examples, by index.
public struct DataSplit: Sendable {
    public let dataset: Dataset
    public let indices: [Int32]
    public init(dataset: Dataset, indices: [Int32]) { self.dataset = dataset; self.indices = indices }
    public init(all dataset: Dataset) { self.init(dataset: dataset, indices: (0..<dataset.count).map { Int32($0) }) }
    public var count: Int { indices.count }

    /// The split with every class brought to the same count: `oversample` repeats examples of the
    /// smaller classes (drawn with replacement, on top of all their own), `undersample` keeps a
    /// random subset of each class the size of the smallest. Seeded; classes absent stay absent.
    public func balanced(_ mode: DataConfig.Balance, seed: UInt64) -> DataSplit {
        guard mode != .none else { return self }
        var byClass: [Int: [Int32]] = [:]
        for i in indices { byClass[Int(dataset.targets[Int(i)]), default: []].append(i) }
        var rng = Xoshiro256(seed: seed, streamID: RandomStream.split.rawValue << 32 | 1)
        let counts = byClass.values.map(\.count)
        guard let most = counts.max(), let least = counts.min() else { return self }
        var out: [Int32] = []
        for c in byClass.keys.sorted() {
            var members = byClass[c]!
            switch mode {
            case .oversample:
                out += members
                for _ in 0..<(most - members.count) { out.append(members[rng.below(members.count)]) }
            case .undersample:
                rng.shuffle(&members)
                out += members.prefix(least)
            case .none:
                break
            }
        }
        return DataSplit(dataset: dataset, indices: out.sorted())
    }

    /// A seeded split into (train, validation): a random `fraction` of the examples (rounded)
    /// goes to validation; both keep their original order.
    public static func split(_ dataset: Dataset, validationFraction fraction: Double, seed: UInt64) -> (DataSplit, DataSplit) {
        var order = (0..<dataset.count).map { Int32($0) }
        var rng = Xoshiro256(seed: seed, stream: .split)
        rng.shuffle(&order)
        let nVal = Int((Double(dataset.count) * fraction).rounded())
        let val = order[0..<nVal].sorted()
        let train = order[nVal...].sorted()
        return (DataSplit(dataset: dataset, indices: Array(train)), DataSplit(dataset: dataset, indices: Array(val)))
    }
}
