import NNCore

/// A whole experiment, read from one JSON file (DESIGN §4½), defaults filled in.
public struct ExperimentConfig: Sendable {
    public var name: String
    public var seed: UInt64
    /// BLAS threads; nil means all cores (or `NNTRAIN_THREADS`).
    public var threads: Int?
    /// Write `layers.csv`: per epoch and layer, activation statistics, dead units, norms.
    public var diagnostics: Bool
    public var data: DataConfig
    public var model: ModelConfig
    public var loss: LossConfig
    public var optimizer: OptimizerConfig
    public var schedule: ScheduleConfig
    public var regularization: RegularizationConfig
    public var training: TrainingConfig
    /// Run directory; nil means `runs/<name>` in the current directory.
    public var outputDirectory: String?
    /// Write TensorBoard's event file into the run directory (`TensorBoardWriter`).
    public var tensorboard: Bool
    /// The config as read, every default written out: the run's `config.json`.
    public var resolved: JSONValue
    public var warnings: [ConfigError]

    /// Reads a parsed config. `baseDirectory` is the config file's folder (for relative paths);
    /// `defaultName` is used when the config has no `name`. Throws every problem found.
    public static func read(_ json: JSONValue, baseDirectory: String, defaultName: String = "experiment")
        throws(ConfigErrors) -> ExperimentConfig
    {
        let diag = Diagnostics()
        let r = ObjectReader(path: "$", value: json, diagnostics: diag)
        if !r.isValid { throw ConfigErrors(diag.errors) }
        let name = readDirectoryName(r, default: defaultName)
        let seed = UInt64(r.int("seed", default: 0, check: .closed(0, 9_007_199_254_740_991)))
        let threads = r.optionalInt("threads", check: .closed(1, 1024))
        let diagnostics = r.bool("diagnostics", default: false)
        let data = DataConfig(r.object("data"), baseDirectory: baseDirectory)
        let model = ModelConfig(r.object("model"), baseDirectory: baseDirectory)
        let loss = LossConfig(r.object("loss"))
        let optimizer = OptimizerConfig(r.object("optimizer"))
        let schedule = ScheduleConfig(r.object("schedule"))
        let regularization = RegularizationConfig(r.object("regularization"))
        let training = TrainingConfig(r.object("training"))
        let out = r.object("output")
        let dir = out.string("dir", default: nil)
        if dir?.isEmpty == true {
            // An empty path would resolve to the config's own folder.
            diag.error("$.output.dir", "expected a directory path or null, got an empty string")
        }
        let tensorboard = out.bool("tensorboard", default: false)
        out.finish()
        r.finish()

        if data.task == .regression && loss.kind == .crossEntropy {
            diag.error("$.loss.type", "expected \"mse\" for data.task \"regression\", got \"cross_entropy\"")
        }
        if let es = training.earlyStopping, es.monitor.needsValidation, data.validation == nil, data.validationSplit == 0 {
            diag.error("$.training.early_stopping.monitor", "\(es.monitor) needs validation data: set data.validation_split > 0 or data.validation")
        }
        checkTextAugmentations(data, diag: diag)
        if data.augment.contains(where: \.needsImage) && model.input.count != 3 && data.train?.isText != true {
            diag.error("$.data.augment", "image augmentations need model.input [channels, height, width], got \(model.input)")
        }
        if data.augment.contains(where: { if case .fancyPCA = $0 { return true }; return false }), model.input.count == 3, model.input[0] != 3 {
            diag.warning("$.data.augment", "fancy_pca shifts colours along the RGB principal components; on \(model.input[0])-channel images it does nothing")
        }
        if let pca = data.preprocess.last, pca.kind == .pca, let k = pca.components, model.input.reduce(1, *) != k {
            diag.error("$.model.input", "expected [\(k)]: the pca step keeps \(k) components, got \(model.input)")
        }
        if let plateau = schedule.plateau, plateau.monitor.needsValidation, data.validation == nil, data.validationSplit == 0 {
            diag.error("$.schedule.monitor", "\(plateau.monitor) needs validation data: set data.validation_split > 0 or data.validation")
        }
        if schedule.warmupEpochs >= training.epochs && schedule.warmupEpochs > 0 {
            diag.warning("$.schedule.warmup_epochs", "warmup lasts \(schedule.warmupEpochs) epochs, the whole run of \(training.epochs)")
        }
        var config = ExperimentConfig(
            name: name, seed: seed, threads: threads, diagnostics: diagnostics, data: data, model: model, loss: loss,
            optimizer: optimizer, schedule: schedule, regularization: regularization, training: training,
            outputDirectory: dir.map { resolvePath($0, baseDirectory) }, tensorboard: tensorboard, resolved: r.resolvedValue, warnings: [])
        // Shapes are checked here too, so `validate` and `run` fail before any data is read,
        // and listed with the other problems (those a bad layer leaves unknowable are not).
        let plan = ModelPlan(config: config)
        for e in plan.errors(besides: diag.errors) { diag.error(e.path, e.message) }
        config.warnings += plan.warnings
        if diag.hasErrors { throw ConfigErrors(diag.errors) }
        config.warnings += diag.warnings
        return config
    }

    /// The run directory this config writes to.
    public var runDirectory: String { outputDirectory ?? "runs/\(name)" }

    /// The schedule of learning rates this config trains with.
    public func learningRateSchedule(stepsPerEpoch: Int) -> LearningRateSchedule {
        LearningRateSchedule(config: schedule, baseLR: optimizer.lr, epochs: training.epochs, stepsPerEpoch: stepsPerEpoch)
    }
}

/// Text augmentations need a text training source with word tokens; a text source takes no
/// image augmentation, and no number augmentation of token ids (a sequence).
func checkTextAugmentations(_ data: DataConfig, diag: Diagnostics) {
    let isText = data.train?.isText == true
    for (i, op) in data.augment.enumerated() {
        let path = "$.data.augment.\(i)"
        if op.textOperation != nil {
            if !isText {
                diag.error(path, "text augmentations need a text training source (data.train {\"format\": \"text\", …})")
            } else if data.text?.tokenize == .chars {
                diag.error(path, "text augmentations change words: they need data.text.tokenize \"words\", got \"chars\"")
            }
        } else if isText && op.needsImage {
            diag.error(path, "image augmentations need images; a text source takes \(TextAugmentation.types.joined(separator: ", "))")
        } else if isText && data.text?.representation == .sequence {
            diag.error(path, "gaussian_noise would change token ids (data.text.representation \"sequence\"); a text source takes \(TextAugmentation.types.joined(separator: ", "))")
        }
    }
}

/// The `name` key of a run or sweep: it names a directory, so no '/' and no leading '.'.
func readDirectoryName(_ r: ObjectReader, default defaultName: String) -> String {
    let name = r.string("name", default: defaultName) ?? defaultName
    if name.isEmpty || name.contains("/") || name.hasPrefix(".") {
        r.diagnostics.error(r.childPath("name"), "expected a plain name (no '/', not starting with '.'), got \(JSONValue.quote(name))")
    }
    return name
}

// MARK: - Loading and overrides

/// Why a config could not be loaded: bad syntax, a bad override, or bad content.
public enum ConfigLoadError: Error, CustomStringConvertible {
    case file(FileError)
    case syntax(path: String, JSONSyntaxError)
    case override(String)
    case invalid(path: String, ConfigErrors)

    public var description: String {
        switch self {
        case .file(let e): return "\(e.path): $: \(e.reason)"
        case .syntax(let p, let e): return "\(p): \(e.path): invalid JSON at \(e)"
        case .override(let m): return m
        case .invalid(let p, let errs): return errs.errors.map { "\(p): \($0)" }.joined(separator: "\n")
        }
    }

    /// One line per problem.
    public var lines: [String] { description.split(separator: "\n").map(String.init) }
}

public enum ConfigLoader {
    /// Configs larger than this are refused before parsing.
    public static let maxBytes = 16 << 20

    /// Reads, parses, applies `--set` overrides and validates the config at `path`.
    public static func load(path: String, overrides: [String] = []) throws(ConfigLoadError) -> ExperimentConfig {
        let json = try loadJSON(path: path, overrides: overrides)
        let base = directoryOf(path)
        var defaultName = String(path.split(separator: "/").last ?? "experiment")
        if defaultName.hasSuffix(".json") { defaultName.removeLast(5) }
        do {
            return try ExperimentConfig.read(json, baseDirectory: base, defaultName: defaultName)
        } catch {
            throw .invalid(path: path, error)
        }
    }

    public static func loadJSON(path: String, overrides: [String] = []) throws(ConfigLoadError) -> JSONValue {
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: maxBytes) } catch { throw .file(error) }
        var json: JSONValue
        do { json = try JSONValue.parse(bytes, maxDepth: 64) } catch { throw .syntax(path: path, error) }
        for o in overrides {
            do { json = try applyOverride(o, to: json) } catch { throw .override("--set \(o): \(error.message)") }
        }
        return json
    }

    /// The absolute folder of `path` (relative config paths resolve against it).
    public static func directoryOf(_ path: String) -> String {
        let absolute = FileIO.absolutePath(path)
        guard let slash = absolute.lastIndex(of: "/") else { return "." }
        let d = String(absolute[..<slash])
        return d.isEmpty ? "/" : d
    }
}

public struct OverrideError: Error {
    public var message: String
    public init(message: String) { self.message = message }
}

/// Applies `a.b.c=value` to a config: objects by key (created when missing), lists by index.
/// The value is parsed as JSON, falling back to a plain string (`optimizer.type=sgd`).
public func applyOverride(_ assignment: String, to json: JSONValue) throws(OverrideError) -> JSONValue {
    guard let eq = assignment.firstIndex(of: "=") else {
        throw OverrideError(message: "expected key.path=value")
    }
    let text = String(assignment[assignment.index(after: eq)...])
    return try applyOverride(path: String(assignment[..<eq]), to: json) { () throws(OverrideError) -> JSONValue in
        let value = (try? JSONValue.parse(text)) ?? .string(text)
        if value.containsNonFiniteNumber {
            throw OverrideError(message: "the number \(outOfRangeNumbers(Array(text.utf8)).first ?? text) is out of range (beyond ±1.8e308)")
        }
        return value
    }
}

/// Applies `value` at a dotted `path` (lists by index), as `--set` does.
public func applyOverride(path: String, value: JSONValue, to json: JSONValue) throws(OverrideError) -> JSONValue {
    try applyOverride(path: path, to: json) { () throws(OverrideError) -> JSONValue in value }
}

/// Both forms above: the path is checked before the value is made.
func applyOverride(path: String, to json: JSONValue, value: () throws(OverrideError) -> JSONValue) throws(OverrideError) -> JSONValue {
    let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    if parts.contains(where: \.isEmpty) { throw OverrideError(message: "empty key in path \(path)") }
    return try setConfigValue(value(), at: parts[...], in: json, walked: "$")
}

func setConfigValue(_ value: JSONValue, at path: ArraySlice<String>, in node: JSONValue, walked: String) throws(OverrideError) -> JSONValue {
    guard let key = path.first else { return value }
    let rest = path.dropFirst()
    switch node {
    case .object(var pairs):
        if let i = pairs.lastIndex(where: { $0.0 == key }) {
            pairs[i].1 = try setConfigValue(value, at: rest, in: pairs[i].1, walked: walked + "." + key)
        } else {
            pairs.append((key, try setConfigValue(value, at: rest, in: .object([]), walked: walked + "." + key)))
        }
        return .object(pairs)
    case .array(var items):
        guard let i = Int(key), i >= 0, i < items.count else {
            throw OverrideError(message: "\(walked) is a list of \(items.count); expected an index 0...\(max(0, items.count - 1)), got \(key)")
        }
        items[i] = try setConfigValue(value, at: rest, in: items[i], walked: walked + "." + key)
        return .array(items)
    case .null:
        return .object([(key, try setConfigValue(value, at: rest, in: .object([]), walked: walked + "." + key))])
    default:
        throw OverrideError(message: "\(walked) is a \(node.kindName), not an object or list")
    }
}
