import NNCore

/// Where one split's examples come from.
public enum DataSource: Sendable, Equatable {
    /// MNIST-style IDX files (raw or .gz): images `[N, H, W]` (or `[N, ...]`) and labels `[N]`
    /// (nil: no labels, for `nntrain predict`).
    case idx(images: String, labels: String?)
    /// A CSV file: one example per row; `labelColumn` holds the class (or regression target);
    /// nil: every column is a feature (no labels, for `nntrain predict`).
    case csv(path: String, labelColumn: Int?, header: Bool?, delimiter: UInt8)
    /// CIFAR-10 binary batches: records of 1 label byte + 3,072 pixel bytes (3×32×32, RGB planes).
    case cifar10(files: [String])
    /// A CSV file of labels and texts (RFC 4180 quoting), turned into numbers by `data.text`.
    /// `labelColumn` nil: no labels (data to predict).
    case text(path: String, labelColumn: Int?, textColumn: Int, header: Bool?, delimiter: UInt8)
    /// Another source's examples whose label is one of `classes` (nil: all), at most
    /// `perClassLimit` of each class (nil: all), chosen by a permutation seeded with `seed`
    /// and kept in file order (see `Dataset.filtered`).
    indirect case filtered(DataSource, classes: [Int]?, perClassLimit: Int?, seed: UInt64)

    /// A source read from `r`; with `labelsRequired` false (data to predict) an IDX source may
    /// leave out `labels` and a CSV source may set `label_column` to null.
    static func read(_ r: ObjectReader, baseDirectory: String, labelsRequired: Bool = true) -> DataSource? {
        defer { r.finish() }
        guard r.isValid else { return nil }
        guard let format = r.choice("format", ["idx", "csv", "cifar10", "text"], default: nil) else { return nil }
        // Keys of every format: which classes to keep and how many of each.
        var classes: [Int]? = nil
        if let items = r.array("classes") {
            classes = items.compactMap { item -> Int? in
                guard let d = item.value.doubleValue, d >= 0, d < 65_536, d == d.rounded() else {
                    r.diagnostics.error(item.path, "expected a class index (a whole number in 0..<65536), got \(item.value.brief)")
                    return nil
                }
                return Int(d)
            }
            if items.isEmpty { r.diagnostics.error(r.childPath("classes"), "expected at least one class") }
            r.record("classes", .array((classes ?? []).map { .number(Double($0)) }))
        }
        // Recorded in the resolved config only when given: a plain source stays as it was.
        let limit = r.has("per_class_limit") ? r.optionalInt("per_class_limit", check: .closed(1, 1_099_511_627_776)) : nil
        let seed = r.has("seed") || classes != nil || limit != nil ? UInt64(r.int("seed", default: 0, check: .closed(0, 9_007_199_254_740_991))) : 0
        guard let base = readFormat(format, r, baseDirectory: baseDirectory, labelsRequired: labelsRequired) else { return nil }
        return classes == nil && limit == nil ? base : .filtered(base, classes: classes, perClassLimit: limit, seed: seed)
    }

    /// The format-specific keys of a source.
    static func readFormat(_ format: String, _ r: ObjectReader, baseDirectory: String, labelsRequired: Bool) -> DataSource? {
        switch format {
        case "text":
            let path = r.requiredString("path")
            var label: Int? = nil
            if !labelsRequired, case .null? = r.raw("label_column") { r.record("label_column", .null) } else {
                label = r.int("label_column", default: 0, check: .closed(0, 65_535))
            }
            let text = r.int("text_column", default: label == nil ? 0 : 1, check: .closed(0, 65_535))
            if let label, label == text { r.diagnostics.error(r.childPath("text_column"), "expected a column other than label_column (\(label))") }
            let (header, delimiter) = readRows(r, quoting: true)
            guard let path else { return nil }
            r.record("path", .string(resolvePath(path, baseDirectory)))
            return .text(path: resolvePath(path, baseDirectory), labelColumn: label, textColumn: text, header: header, delimiter: delimiter)
        case "cifar10":
            var files: [String] = []
            if case .array(let items)? = r.raw("files") {
                for (i, v) in items.enumerated() {
                    guard case .string(let s) = v else {
                        r.diagnostics.error(r.childPath("files") + ".\(i)", "expected string, got \(v.brief)")
                        continue
                    }
                    files.append(resolvePath(s, baseDirectory))
                }
                if items.isEmpty { r.diagnostics.error(r.childPath("files"), "expected at least one file") }
                r.record("files", .array(files.map { .string($0) }))
            } else if let one = r.string("files", default: nil) {
                files = [resolvePath(one, baseDirectory)]
                r.record("files", .array([.string(files[0])]))
            } else {
                r.diagnostics.error(r.childPath("files"), "missing required key (expected a list of CIFAR-10 .bin files)")
            }
            return files.isEmpty ? nil : .cifar10(files: files)
        case "idx":
            let images = r.requiredString("images")
            let labels = labelsRequired || r.has("labels") ? r.requiredString("labels") : nil
            guard let images, labels != nil || !labelsRequired else { return nil }
            let (i, l) = (resolvePath(images, baseDirectory), labels.map { resolvePath($0, baseDirectory) })
            // The resolved config (a run's config.json) holds absolute paths, so a run can be
            // resumed from any directory.
            r.record("images", .string(i))
            if let l { r.record("labels", .string(l)) }
            return .idx(images: i, labels: l)
        default:
            let path = r.requiredString("path")
            let column: Int?
            if !labelsRequired, case .null? = r.raw("label_column") {
                column = nil
                r.record("label_column", .null)
            } else {
                column = r.int("label_column", default: 0, check: .atLeast(-1))
            }
            let (header, delimiter) = readRows(r, quoting: false)
            guard let path else { return nil }
            r.record("path", .string(resolvePath(path, baseDirectory)))
            return .csv(path: resolvePath(path, baseDirectory), labelColumn: column, header: header, delimiter: delimiter)
        }
    }

    /// `header` (true, false or "auto", what the resolved config records for an absent key:
    /// detect a header row) and `delimiter` (one character; with `quoting`, not a quote).
    static func readRows(_ r: ObjectReader, quoting: Bool) -> (header: Bool?, delimiter: UInt8) {
        var header: Bool? = nil
        switch r.raw("header") {
        case nil, .null?, .string("auto")?: r.record("header", .string("auto"))
        case .bool(let b)?: header = b; r.record("header", .bool(b))
        case let v?: r.diagnostics.error(r.childPath("header"), "expected true, false or \"auto\", got \(v.brief)")
        }
        let delim = r.string("delimiter", default: ",") ?? ","
        if delim.utf8.count != 1 || (quoting && delim == "\"") {
            r.diagnostics.error(r.childPath("delimiter"), "expected a single character\(quoting ? " other than a quote" : ""), got \(JSONValue.quote(delim))")
        }
        return (header, delim.utf8.first ?? 44)
    }

    /// A source from JSON text (`nntrain eval --data`), with every problem listed.
    public static func parse(_ text: String, baseDirectory: String, labelsRequired: Bool = true) throws(ConfigErrors) -> DataSource {
        let diag = Diagnostics()
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw ConfigErrors([ConfigError(path: "$", message: "invalid JSON at \(error)")]) }
        let r = ObjectReader(path: "$", value: json, diagnostics: diag)
        let source = read(r, baseDirectory: baseDirectory, labelsRequired: labelsRequired)
        guard let source, !diag.hasErrors else { throw ConfigErrors(diag.errors) }
        return source
    }

    /// The source without its `classes` / `per_class_limit` filter.
    public var unfiltered: DataSource {
        if case .filtered(let base, _, _, _) = self { return base.unfiltered }
        return self
    }

    /// Whether this source holds texts (`data.text` turns them into numbers).
    public var isText: Bool {
        switch self {
        case .text: return true
        case .filtered(let base, _, _, _): return base.isText
        default: return false
        }
    }

    /// The files this source reads.
    public var files: [String] {
        switch self {
        case .idx(let i, let l): return [i] + (l.map { [$0] } ?? [])
        case .csv(let p, _, _, _): return [p]
        case .cifar10(let f): return f
        case .filtered(let base, _, _, _): return base.files
        case .text(let p, _, _, _, _): return [p]
        }
    }
}

/// Relative paths in a config resolve against the config file's folder.
public func resolvePath(_ path: String, _ base: String) -> String {
    if path.hasPrefix("/") { return path }
    if path.hasPrefix("~/"), let home = Runtime.environment("HOME") { return home + path.dropFirst(1) }
    return FileIO.absolutePath(base.isEmpty ? path : (base.hasSuffix("/") ? base + path : base + "/" + path))
}

/// One preprocessing step, fitted on the training split only.
public struct PreprocessStep: Sendable, Equatable {
    public enum Kind: String, Sendable { case center, standardize, minmax, pca, zca }
    public enum Per: String, Sendable { case feature, channel, global }
    public var kind: Kind
    public var per: Per
    public var range: (Float, Float)
    /// PCA: keep this many components, or enough for this fraction of the variance.
    public var components: Int? = nil
    public var varianceFraction: Double? = nil
    /// PCA: divide each component by √(λ + eps) (whitening).
    public var whiten = false
    public var eps: Float = 1e-5
    /// standardize: the smallest std a feature (group) is divided by; `nil` ("auto") is a tenth
    /// of the mean std over the groups, so a near-constant feature (a border pixel that is
    /// almost always 0) cannot turn a rare value in validation data into a huge input.
    public var minStd: Double? = nil

    public init(kind: Kind, per: Per, range: (Float, Float)) { self.kind = kind; self.per = per; self.range = range }

    public static func == (a: PreprocessStep, b: PreprocessStep) -> Bool {
        a.kind == b.kind && a.per == b.per && a.range == b.range && a.components == b.components
            && a.varianceFraction == b.varianceFraction && a.whiten == b.whiten && a.eps == b.eps
            && a.minStd == b.minStd
    }

    var isLinearProjection: Bool { kind == .pca || kind == .zca }

    static func read(_ r: ObjectReader) -> PreprocessStep? {
        defer { r.finish() }
        guard r.isValid, let t = r.choice("type", ["center", "standardize", "minmax", "pca", "zca"], default: nil),
              let kind = Kind(rawValue: t) else { return nil }
        if kind == .pca || kind == .zca {
            var step = PreprocessStep(kind: kind, per: .feature, range: (0, 1))
            if kind == .pca {
                step.components = r.optionalInt("components", check: .closed(1, 1_048_576))
                step.varianceFraction = r.optionalDouble("variance", check: .closed(0.000001, 1))
                if (step.components == nil) == (step.varianceFraction == nil) {
                    r.diagnostics.error(r.path, "pca needs exactly one of \"components\" (a count) or \"variance\" (a fraction such as 0.95)")
                }
                step.whiten = r.bool("whiten", default: false)
            }
            step.eps = r.float("eps", default: 1e-5, check: .nonNegative)
            return step
        }
        let per = Per(rawValue: r.choice("per", ["feature", "channel", "global"], default: "feature") ?? "feature") ?? .feature
        var range: (Float, Float) = (0, 1)
        if kind == .minmax {
            if let v = r.doubles("range", default: [0, 1], count: 2), v[1] > v[0] {
                range = (Float(v[0]), Float(v[1]))
            } else if r.has("range") {
                r.diagnostics.error(r.childPath("range"), "expected [low, high] with low < high, e.g. [0, 1] or [-1, 1]")
            }
        }
        var step = PreprocessStep(kind: kind, per: per, range: range)
        if kind == .standardize {
            switch r.raw("min_std") {
            case nil, .null?, .string("auto")?:
                r.record("min_std", .string("auto"))
            case .number(let d)? where d >= 0 && d.isFinite:
                step.minStd = d
                r.record("min_std", .number(d))
            case let v?:
                r.diagnostics.error(r.childPath("min_std"), "expected \"auto\" or a number >= 0, got \(v.brief)")
            }
        }
        return step
    }
}

/// Whether labels are class indices or real-valued targets.
public enum Task: String, Sendable { case classification, regression }

/// `data`: the splits, the validation split fraction and preprocessing.
public struct DataConfig: Sendable, Equatable {
    public var train: DataSource?
    public var validation: DataSource?
    public var test: DataSource?
    public var validationSplit: Double
    /// Seeds the validation split, apart from the training seed, so that runs and sweep trials
    /// with different training seeds are compared on the same validation examples.
    public var splitSeed: UInt64
    public var task: Task
    public var preprocess: [PreprocessStep]
    /// Class rebalancing of the training split: oversample every class to the largest count,
    /// or undersample to the smallest (seeded).
    public var balance: Balance = .none
    /// Random transformations of training batches, in order: of images and features after
    /// preprocessing, of texts' token ids before encoding (`TextAugmentation`).
    public var augment: [Augmentation] = []
    /// How text sources become numbers; nil when no source is text.
    public var text: TextConfig?
    public enum Balance: String, Sendable { case none, oversample, undersample }

    init(_ r: ObjectReader, baseDirectory: String) {
        if !r.has("train") {
            _ = r.raw("train")
            r.diagnostics.error(r.childPath("train"), "missing required key (expected {\"format\": \"idx\", \"images\": …, \"labels\": …} or {\"format\": \"csv\", \"path\": …})")
        }
        train = r.has("train") ? DataSource.read(r.object("train"), baseDirectory: baseDirectory) : nil
        validation = r.has("validation") ? DataSource.read(r.object("validation"), baseDirectory: baseDirectory) : nil
        if validation == nil { _ = r.raw("validation") }
        test = r.has("test") ? DataSource.read(r.object("test"), baseDirectory: baseDirectory) : nil
        if test == nil { _ = r.raw("test") }
        validationSplit = r.double("validation_split", default: validation == nil ? 0.1 : 0, check: .halfOpen(0, 1))
        if validation != nil && validationSplit > 0 {
            r.diagnostics.error(r.childPath("validation_split"), "expected 0 when data.validation names a file, got \(validationSplit)")
        }
        if r.has("text") || [train, validation, test].contains(where: { $0?.isText == true }) {
            text = TextConfig.read(r.object("text"))
        }
        splitSeed = UInt64(r.int("split_seed", default: 0, check: .closed(0, 9_007_199_254_740_991)))
        task = Task(rawValue: r.choice("task", ["classification", "regression"], default: "classification") ?? "") ?? .classification
        balance = Balance(rawValue: r.choice("balance", ["none", "oversample", "undersample"], default: "none") ?? "none") ?? .none
        if balance != .none && task == .regression {
            r.diagnostics.error(r.childPath("balance"), "class balancing needs data.task \"classification\"")
        }
        var steps: [PreprocessStep] = []
        var readers: [ObjectReader] = []
        for (p, v) in r.array("preprocess") ?? [] {
            let s = ObjectReader(path: p, value: v, diagnostics: r.diagnostics)
            readers.append(s)
            if let step = PreprocessStep.read(s) { steps.append(step) }
        }
        r.recordArray("preprocess", readers)
        preprocess = steps
        if let i = steps.firstIndex(where: \.isLinearProjection), i != steps.count - 1 {
            r.diagnostics.error(r.childPath("preprocess") + ".\(i)", "\(steps[i].kind.rawValue) must be the last preprocessing step")
        }
        var augmentReaders: [ObjectReader] = []
        for (p, v) in r.array("augment") ?? [] {
            let a = ObjectReader(path: p, value: v, diagnostics: r.diagnostics)
            augmentReaders.append(a)
            if a.isValid, let op = Augmentation.read(a, baseDirectory: baseDirectory) { augment.append(op) }
        }
        r.recordArray("augment", augmentReaders)
        r.finish()
    }
}
