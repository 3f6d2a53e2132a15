import NNCore

/// Everything `nntrain run` does, callable from tests: load data, fit preprocessing on the
/// training split, build the model, train, and write the run directory.
public enum Experiment {
    public static let version = "0.1.0"

    public struct Options {
        /// Overrides the config's run directory.
        public var outputDirectory: String?
        /// Replace an existing run directory.
        public var force = false
        /// BLAS threads (overrides the config and `NNTRAIN_THREADS`).
        public var threads: Int?
        public var onEvent: (TrainingEvent) -> Void = { _ in }
        public var pendingSignal: () -> Int32 = { 0 }
        /// Pause after this many epochs (successive-halving rungs); `resume` continues.
        public var epochLimit: Int?
        public init() {}
    }

    public struct Result {
        public var directory: String
        public var summary: JSONValue
        public var outcome: Trainer.Outcome
    }

    /// Threads for BLAS: option, then config, then `NNTRAIN_THREADS`, then all cores; at most
    /// `Parallel.maxThreads` (a larger request is clamped, and `threadWarning` says so).
    public static func threadCount(config: ExperimentConfig, option: Int?) -> Int {
        min(requestedThreads(config: config, option: option).count, Parallel.maxThreads)
    }

    /// The thread count asked for and where the request came from.
    static func requestedThreads(config: ExperimentConfig, option: Int?) -> (count: Int, source: String) {
        if let t = option { return (t, "--threads \(t)") }
        if let t = config.threads { return (t, "threads \(t) in the config") }
        if let e = Runtime.environment("NNTRAIN_THREADS"), let t = Int(e), t > 0 { return (t, "NNTRAIN_THREADS=\(e)") }
        return (max(1, ProcessInfoCores.count), "\(ProcessInfoCores.count) cores")
    }

    /// A warning when the request is clamped to `Parallel.maxThreads` or `NNTRAIN_THREADS` is
    /// not a positive integer (and so ignored).
    public static func threadWarning(config: ExperimentConfig, option: Int?) -> String? {
        if option == nil, config.threads == nil, let e = Runtime.environment("NNTRAIN_THREADS"), !e.isEmpty,
           (Int(e) ?? 0) <= 0 {
            return "warning: NNTRAIN_THREADS=\(e) is not a positive integer; ignored"
        }
        let (n, source) = requestedThreads(config: config, option: option)
        guard n > Parallel.maxThreads else { return nil }
        return "warning: \(source) is above the \(Parallel.maxThreads) threads nntrain can use; clamped to \(Parallel.maxThreads)"
    }

    /// Locks `directory` for this process (created if missing): a second writer exits 2 naming
    /// the holder, instead of mixing its files with the first one's.
    static func lockRunDirectory(_ directory: String) throws(RunError) -> FileLock {
        guard !directory.isEmpty else {
            throw .config(["the run directory is an empty path: give --out DIR (or output.dir) a directory"])
        }
        do { return try FileLock(directory: directory) } catch {
            switch error {
            case .held(let path, let pid):
                throw .config(["\(path) is being written by another nntrain process" + (pid.map { " (pid \($0))" } ?? "")
                               + "; wait for it to finish, or write elsewhere with --out DIR"])
            case .file(let e):
                throw .io("cannot write the run directory: \(e)")
            }
        }
    }

    /// Runs a whole experiment and writes its run directory (locked while it does).
    public static func run(_ config: ExperimentConfig, options: Options) throws(RunError) -> Result {
        let lock = try lockRunDirectory(options.outputDirectory ?? config.runDirectory)
        do {
            let result = try runLocked(config, options: options)
            withExtendedLifetime(lock) {}
            return result
        } catch {
            withExtendedLifetime(lock) {}
            throw error
        }
    }

    static func runLocked(_ config: ExperimentConfig, options: Options) throws(RunError) -> Result {
        let directory = options.outputDirectory ?? config.runDirectory
        if FileIO.exists(directory + "/curves.csv") || FileIO.exists(directory + "/summary.json")
            || FileIO.exists(Checkpoint.path(in: directory)) {
            if !options.force {
                throw .config(["\(directory) already holds a run; pass --force to replace it, --out DIR to write elsewhere, or `nntrain run --resume \(directory)` to continue it"])
            }
        }
        let session = try prepare(config, options: options, threads: threadCount(config: config, option: options.threads))
        let files: RunFiles
        do {
            for f in ["curves.csv", "steps.csv", "summary.json", "model.safetensors", "preprocess.safetensors", Checkpoint.fileName] {
                FileIO.remove(directory + "/" + f)
            }
            for e in Snapshots.list(in: directory) { FileIO.remove(e.path) }
            files = try RunFiles(directory: directory, resolvedConfig: config.resolved, tensorboard: config.tensorboard)
        } catch {
            throw .io("cannot write the run directory: \(error)")
        }
        return try finish(session, files: files, options: options)
    }

    /// Continues the run in `directory` from its checkpoint, with its own `config.json`
    /// (`overrides` may change `training.epochs`; other changes need `force`).
    public static func resume(directory: String, overrides: [String], options: Options) throws(RunError) -> Result {
        guard FileIO.isDirectory(directory) else {
            throw .config(["\(directory) holds no run to resume (no such directory); start one with `nntrain run CONFIG --out \(directory)`"])
        }
        let lock = try lockRunDirectory(directory)
        do {
            let result = try resumeLocked(directory: directory, overrides: overrides, options: options)
            withExtendedLifetime(lock) {}
            return result
        } catch {
            withExtendedLifetime(lock) {}
            throw error
        }
    }

    static func resumeLocked(directory: String, overrides: [String], options: Options) throws(RunError) -> Result {
        let configPath = directory + "/config.json"
        guard FileIO.exists(configPath) else {
            throw .config(["\(directory) holds no run to resume (no config.json); start one with `nntrain run CONFIG --out \(directory)`"])
        }
        let config: ExperimentConfig
        do { config = try ConfigLoader.load(path: configPath, overrides: overrides) } catch {
            throw .config(error.lines)
        }
        let checkpoint: Checkpoint?
        do { checkpoint = try Checkpoint.read(from: directory) } catch { throw .data(error) }
        if let c = checkpoint, let problem = config.resumeEpochsProblem(epochsDone: c.state.epochsDone, directory: directory) {
            throw .config([problem])
        }
        var options = options
        options.outputDirectory = directory
        guard let checkpoint else {
            // Stopped before its first checkpoint: nothing to continue, so start over, unless
            // that would discard results (a summary, weights, epochs in curves.csv).
            let kept = resultsWithoutCheckpoint(in: directory)
            if !kept.isEmpty && !options.force {
                throw .config(["\(directory) has no checkpoint to continue from, but holds the results of a run ("
                               + kept.joined(separator: ", ") + "); nothing was changed. Pass --force to train it again from the beginning, "
                               + "replacing them, or start a new run with `nntrain run CONFIG --out OTHER_DIR`"])
            }
            options.onEvent(.message("\(directory) has no checkpoint yet; training from the beginning"))
            options.force = true
            return try runLocked(config, options: options)
        }
        let changed = configDifferences(configForComparison(checkpoint.config), configForComparison(config.resolved))
        if !changed.isEmpty && !options.force {
            throw .config(["the config changed since the checkpoint in \(directory):"] + changed.map { "  " + $0 }
                          + ["only training.epochs may change on resume; pass --force to resume anyway"])
        }
        // The same thread count as before keeps the sums, and so the run, bit for bit the same.
        let threads = options.threads ?? checkpoint.threads
        let session = try prepare(config, options: options, threads: threads)
        try session.trainer.restore(checkpoint)
        let files: RunFiles
        do {
            files = try RunFiles(resuming: directory, resolvedConfig: config.resolved, curveRows: checkpoint.state.epochsDone,
                                 lastStep: checkpoint.state.globalStep, tensorboard: config.tensorboard)
        } catch {
            throw .io("cannot write the run directory: \(error)")
        }
        options.onEvent(.message("resuming \(directory) after epoch \(checkpoint.state.epochsDone), step \(checkpoint.state.globalStep)"))
        return try finish(session, files: files, options: options)
    }

    /// What a run directory without a checkpoint holds that starting over would discard.
    static func resultsWithoutCheckpoint(in directory: String) -> [String] {
        var kept: [String] = []
        for f in ["summary.json", "model.safetensors"] where FileIO.exists(directory + "/" + f) { kept.append(f) }
        // Only whole rows count: a header alone (killed in epoch 1) is nothing to keep.
        if let text = try? FileIO.read(directory + "/curves.csv", limit: 1 << 26) {
            let rows = text.split(separator: UInt8(ascii: "\n")).count - 1
            if rows > 0 { kept.append("curves.csv with \(rows) epoch\(rows == 1 ? "" : "s")") }
        }
        return kept
    }

    struct Session {
        var config: ExperimentConfig
        var model: Model
        var trainer: Trainer
        var preprocessor: Preprocessor
        var threads: Int
        /// The vocabulary of text data (written to `vocabulary.json`), else nil.
        var vocabulary: Vocabulary? = nil
    }

    /// Loads the data, fits preprocessing on the training split and builds model and trainer.
    static func prepare(_ config: ExperimentConfig, options: Options, threads requested: Int) throws(RunError) -> Session {
        if let w = threadWarning(config: config, option: options.threads) { options.onEvent(.message(w)) }
        let threads = min(max(1, requested), Parallel.maxThreads)
        setBLASThreads(threads)
        Runtime.flushDenormals()
        let loadStart = Clock.now()
        let loaded: (train: DataSplit, validation: DataSplit?, test: DataSplit?, vocabulary: Vocabulary?)
        do { loaded = try loadDataAndVocabulary(config) } catch {
            // A signal while waiting on a FIFO or pipe is an interruption, not a data error.
            let signal = options.pendingSignal()
            if signal != 0 { throw .interrupted(signal: signal) }
            throw error
        }
        let (train, validation, test, vocabulary) = loaded
        if let problem = config.validationProblem(trainExamples: train.dataset.count, validationExamples: validation?.count) {
            throw .config([problem])
        }
        let dataRead = Clock.now()
        let plan = ModelPlan(config: config)
        let preprocessor = Preprocessor.fit(config.data.preprocess, on: train)
        if let problem = preprocessor.problem(steps: config.data.preprocess, on: train) {
            throw .data(DataError(file: train.dataset.origin, problem))
        }
        try checkCompatibility(config, plan: plan, data: train.dataset, features: preprocessor.outputCount)
        for other in [validation, test].compactMap({ $0?.dataset }) where other !== train.dataset { try checkTokenIDs(config, other) }
        options.onEvent(.dataLoaded(train: train.count, validation: validation?.count ?? 0, test: test?.count ?? 0,
                                    classes: train.dataset.classCount, seconds: Clock.now() - loadStart))
        let model = Model(config: config.model, seed: config.seed, penalizeAll: config.regularization.penalizeBiases)
        if config.model.from != nil {
            for line in try Pretrained.load(into: model, config: config).messages { options.onEvent(.message(line)) }
        }
        var textAugmenter: TextAugmenter? = nil
        if let vocabulary, let text = config.data.text {
            do { textAugmenter = try TextAugmenter.make(config.data.augment, text: text, vocabulary: vocabulary, dataset: train.dataset) } catch {
                throw .data(error)
            }
            for (dir, table) in textAugmenter?.tables.sorted(by: { $0.key < $1.key }) ?? [] {
                options.onEvent(.message("WordNet \(dir): \(table.coveredCount) of the \(vocabulary.tokens.count) vocabulary entries have synonyms"))
            }
        }
        let trainer = Trainer(config: config, model: model, train: train, validation: validation, test: test,
                              preprocessor: preprocessor, textAugmenter: textAugmenter)
        trainer.onEvent = options.onEvent
        trainer.pendingSignal = options.pendingSignal
        trainer.threads = threads
        trainer.epochLimit = options.epochLimit
        trainer.dataReadAt = dataRead
        trainer.loss.classWeights = try classWeights(config, train: train, classes: model.outputShape.reduce(1, *))
        return Session(config: config, model: model, trainer: trainer, preprocessor: preprocessor, threads: threads, vocabulary: vocabulary)
    }

    /// The loss's class weights: given, or "balanced" (`balancedClassWeights`) over the training split.
    static func classWeights(_ config: ExperimentConfig, train: DataSplit, classes: Int) throws(RunError) -> [Float]? {
        switch config.loss.classWeights {
        case .none:
            return nil
        case .given(let w):
            guard config.data.task == .classification else { throw .config(["$.loss.class_weights: class weights need data.task \"classification\""]) }
            guard w.count == classes else {
                throw .config(["$.loss.class_weights: expected \(classes) weights (one per output class), got \(w.count)"])
            }
            return w
        case .balanced:
            guard config.data.task == .classification else { throw .config(["$.loss.class_weights: class weights need data.task \"classification\""]) }
            return balancedClassWeights(labels: train.indices.lazy.map { Int(train.dataset.targets[Int($0)]) }, classes: classes)
        }
    }

    /// Trains, then writes the weights and the summary; maps the stop reason to an error.
    static func finish(_ s: Session, files: RunFiles, options: Options) throws(RunError) -> Result {
        if let v = s.vocabulary {
            do { try FileIO.writeAtomically(files.directory + "/vocabulary.json", text: v.json.serialized(indent: 0) + "\n") } catch {
                throw .io("cannot write the run directory: \(error)")
            }
        }
        options.onEvent(.started(epochs: s.config.training.epochs, stepsPerEpoch: s.trainer.stepsPerEpoch,
                                 parameters: s.model.store.count, threads: s.threads))
        let outcome = s.trainer.run(files: files)
        if let failure = s.trainer.writeFailure ?? files.writeError {
            // The disk is full or failing: stop here, with no summary that calls the run done.
            throw .io("cannot write \(failure); the run stopped after epoch \(outcome.epochsRun) (step \(s.trainer.globalStep)). "
                      + keptCheckpoint(s.trainer, directory: files.directory))
        }
        // The diagnosis reads the rows back from the files just written (flushed row by row),
        // so `nntrain diagnose` on this directory finds the same, resumed runs included.
        let diagnosis = diagnose(directory: files.directory, config: s.config, diverged: outcome.stopReason == .diverged)
        let summary = summaryJSON(config: s.config, outcome: outcome, trainer: s.trainer, threads: s.threads, diagnosis: diagnosis,
                                  directory: files.directory)
        do {
            if outcome.stopReason != .diverged {
                try files.writeModel(s.model, preprocessor: s.preprocessor, classWeights: s.trainer.loss.classWeights, metadata: [
                    ("format", "pt"), ("nntrain_version", version), ("input_shape", "\(s.config.model.input)"),
                    ("note", "names follow the config's layer list: layers.N.weight is model.layers[N]"),
                ])
            }
            try files.writeSummary(summary)
        } catch {
            throw .io("cannot write results: \(error). " + keptCheckpoint(s.trainer, directory: files.directory))
        }
        CurvesPlot.write(directory: files.directory, name: s.config.name, findings: diagnosis)
        switch outcome.stopReason {
        case .diverged: throw .diverged(outcome.message ?? "training diverged")
        case .interrupted: throw .interrupted(signal: outcome.interruptSignal)
        default: break
        }
        return Result(directory: files.directory, summary: summary, outcome: outcome)
    }

    /// Which checkpoint a failed write leaves, and how to go on.
    static func keptCheckpoint(_ trainer: Trainer, directory: String) -> String {
        guard let saved = trainer.savedCheckpoint else {
            return "No checkpoint was written: free some space and train it again from the beginning with `nntrain run --resume \(directory) --force`."
        }
        return "\(Checkpoint.path(in: directory)) holds the state after epoch \(saved.epoch) (step \(saved.step)); "
            + "free some space and continue with `nntrain run --resume \(directory)`."
    }

    /// The diagnosis of the run in `directory` (see `Diagnosis`); no findings when its files
    /// cannot be read back.
    public static func diagnose(directory: String, config: ExperimentConfig, diverged: Bool) -> [Finding] {
        guard let figures = try? RunFigures.read(directory: directory, classes: Diagnosis.classes(config), diverged: diverged) else { return [] }
        return Diagnosis.findings(figures)
    }

    static func summaryJSON(config: ExperimentConfig, outcome: Trainer.Outcome, trainer: Trainer, threads: Int,
                            diagnosis: [Finding], directory: String? = nil) -> JSONValue {
        func num(_ d: Double?) -> JSONValue { d.map { $0.isFinite ? .number($0) : .null } ?? .null }
        let last = outcome.lastCurve
        var snapshots: [(String, JSONValue)] = []
        if config.training.snapshots != nil, let directory {
            snapshots = [("snapshots", Snapshots.summary(directory: directory, monitor: trainer.earlyStopping.monitor))]
        }
        return .object([
            ("name", .string(config.name)),
            ("test_loss", num(outcome.testLoss)),
            ("test_accuracy", num(outcome.testAccuracy)),
            ("best_val_loss", num(outcome.bestValLoss)),
            ("best_val_accuracy", num(outcome.bestValAccuracy)),
            ("best_epoch", outcome.bestEpoch.map { .number(Double($0)) } ?? .null),
            ("epochs_run", .number(Double(outcome.epochsRun))),
            ("steps", .number(Double(trainer.globalStep))),
            ("skipped_batches", .number(Double(outcome.skippedBatches))),
            ("stop_reason", .string(outcome.stopReason.rawValue)),
            ("message", outcome.message.map { .string($0) } ?? .null),
            ("diverged_at_step", outcome.stopReason == .diverged ? .number(Double(trainer.globalStep + 1)) : .null),
            ("final_loss", num(last?.loss)),
            ("final_accuracy", num(last?.accuracy)),
            ("seconds", .number((outcome.seconds * 1000).rounded() / 1000)),
            ("seconds_to_first_step", trainer.firstStepAt.flatMap { t in trainer.dataReadAt.map { .number(((t - $0) * 1e4).rounded() / 1e4) } } ?? .null),
            ("samples_per_second", outcome.trainSeconds > 0 ? .number((Double(outcome.samplesTrained) / outcome.trainSeconds).rounded()) : .null),
            ("parameters", .number(Double(trainer.model.store.count))),
            ("threads", .number(Double(threads))),
            ("seed", .number(Double(config.seed))),
            ("nntrain_version", .string(version)),
            ("diagnosis", .array(diagnosis.map(\.json))),
        ] + snapshots)
    }
}

/// Online CPU cores.
enum ProcessInfoCores {
    static var count: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
