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
        public init() {}
    }

    public struct Result {
        public var directory: String
        public var summary: JSONValue
        public var outcome: Trainer.Outcome
    }

    /// Threads for BLAS: option, then config, then `NNTRAIN_THREADS`, then all cores.
    public static func threadCount(config: ExperimentConfig, option: Int?) -> Int {
        if let t = option ?? config.threads { return t }
        if let e = Runtime.environment("NNTRAIN_THREADS"), let t = Int(e), t > 0 { return t }
        return max(1, ProcessInfoCores.count)
    }

    /// Loads the splits named by `data` (train split into train/validation when asked).
    public static func loadData(_ config: ExperimentConfig) throws(RunError) -> (train: DataSplit, validation: DataSplit?, test: DataSplit?) {
        guard let trainSource = config.data.train else { throw .config(["$.data.train: missing"]) }
        do throws(DataError) {
            let trainSet = try Dataset.load(trainSource, task: config.data.task)
            var train = DataSplit(all: trainSet)
            var validation: DataSplit? = nil
            if let v = config.data.validation {
                validation = DataSplit(all: try Dataset.load(v, task: config.data.task))
            } else if config.data.validationSplit > 0 {
                let (t, v) = DataSplit.split(trainSet, validationFraction: config.data.validationSplit, seed: config.seed)
                train = t
                validation = v
            }
            var test: DataSplit? = nil
            if let s = config.data.test { test = DataSplit(all: try Dataset.load(s, task: config.data.task)) }
            guard train.count > 0 else { throw DataError(file: trainSet.origin, "no training examples left after the validation split") }
            for other in [validation, test].compactMap({ $0 }) where other.dataset !== trainSet {
                if other.dataset.featureCount != trainSet.featureCount {
                    throw DataError(file: other.dataset.origin, "examples have \(other.dataset.featureCount) features, the training data \(trainSet.featureCount)")
                }
                if let c = other.dataset.classCount, let tc = trainSet.classCount, c > tc {
                    throw DataError(file: other.dataset.origin, "has label \(c - 1), but the training data has only classes 0..<\(tc)")
                }
            }
            return (train, validation, test)
        } catch {
            throw .data(error)
        }
    }

    /// Checks the data against the model: input size and number of outputs.
    public static func checkCompatibility(_ config: ExperimentConfig, plan: ModelPlan, data: Dataset) throws(RunError) {
        var errors: [String] = []
        let inputCount = config.model.input.reduce(1, *)
        if inputCount != data.featureCount {
            errors.append("$.model.input: \(config.model.input) has \(inputCount) features, but the data (\(data.origin)) has shape \(data.sampleShape) = \(data.featureCount); set model.input to \(data.sampleShape)")
        }
        let outputs = plan.outputShape.reduce(1, *)
        if let classes = data.classCount {
            if outputs != classes && !(config.loss.kind == .crossEntropy && outputs > classes) {
                errors.append("$.model.layers.\(config.model.layers.count - 1): the model gives \(outputs) outputs, but the data has \(classes) classes; set its units to \(classes)")
            } else if outputs < classes {
                errors.append("$.model.layers.\(config.model.layers.count - 1): the model gives \(outputs) outputs, but the data has \(classes) classes")
            }
        } else if outputs != data.targetWidth {
            errors.append("$.model.layers.\(config.model.layers.count - 1): regression with \(data.targetWidth) target(s) needs \(data.targetWidth) output(s), the model gives \(outputs)")
        }
        if !errors.isEmpty { throw .config(errors) }
    }

    /// Runs a whole experiment and writes its run directory.
    public static func run(_ config: ExperimentConfig, options: Options) throws(RunError) -> Result {
        let directory = options.outputDirectory ?? config.runDirectory
        if FileIO.exists(directory + "/curves.csv") || FileIO.exists(directory + "/summary.json") {
            if !options.force {
                throw .config(["\(directory) already holds a run; pass --force to replace it, or --out DIR to write elsewhere"])
            }
        }
        let threads = threadCount(config: config, option: options.threads)
        setBLASThreads(threads)
        Runtime.flushDenormals()

        let loadStart = Clock.now()
        let (train, validation, test) = try loadData(config)
        let plan = ModelPlan(config: config)
        try checkCompatibility(config, plan: plan, data: train.dataset)
        options.onEvent(.dataLoaded(train: train.count, validation: validation?.count ?? 0, test: test?.count ?? 0,
                                    classes: train.dataset.classCount, seconds: Clock.now() - loadStart))

        let preprocessor = Preprocessor.fit(config.data.preprocess, on: train)
        let model = Model(config: config.model, seed: config.seed)
        let trainer = Trainer(config: config, model: model, train: train, validation: validation, test: test,
                              preprocessor: preprocessor)
        trainer.onEvent = options.onEvent
        trainer.pendingSignal = options.pendingSignal

        let files: RunFiles
        do {
            if options.force {
                for f in ["curves.csv", "steps.csv", "summary.json", "model.safetensors", "preprocess.safetensors"] {
                    _ = unlinkIfPresent(directory + "/" + f)
                }
            }
            files = try RunFiles(directory: directory, resolvedConfig: config.resolved)
        } catch {
            throw .io("cannot write the run directory: \(error)")
        }
        options.onEvent(.started(epochs: config.training.epochs, stepsPerEpoch: trainer.stepsPerEpoch,
                                 parameters: model.store.count, threads: threads))
        let outcome = trainer.run(files: files)

        let summary = summaryJSON(config: config, outcome: outcome, trainer: trainer, threads: threads)
        do {
            if outcome.stopReason != .diverged {
                try files.writeModel(model, preprocessor: preprocessor, metadata: [
                    ("format", "pt"), ("nntrain_version", version), ("input_shape", "\(config.model.input)"),
                    ("note", "names follow the config's layer list: layers.N.weight is model.layers[N]"),
                ])
            }
            try files.writeSummary(summary)
        } catch {
            throw .io("cannot write results: \(error)")
        }
        switch outcome.stopReason {
        case .diverged: throw .diverged(outcome.message ?? "training diverged")
        case .interrupted: throw .interrupted(signal: outcome.interruptSignal)
        default: break
        }
        return Result(directory: directory, summary: summary, outcome: outcome)
    }

    static func summaryJSON(config: ExperimentConfig, outcome: Trainer.Outcome, trainer: Trainer, threads: Int) -> JSONValue {
        func num(_ d: Double?) -> JSONValue { d.map { $0.isFinite ? .number($0) : .null } ?? .null }
        let last = trainer.curves.last
        return .object([
            ("name", .string(config.name)),
            ("test_loss", num(outcome.testLoss)),
            ("test_accuracy", num(outcome.testAccuracy)),
            ("best_val_loss", num(outcome.bestValLoss)),
            ("best_val_accuracy", num(outcome.bestValAccuracy)),
            ("best_epoch", outcome.bestEpoch.map { .number(Double($0)) } ?? .null),
            ("epochs_run", .number(Double(outcome.epochsRun))),
            ("steps", .number(Double(trainer.globalStep))),
            ("stop_reason", .string(outcome.stopReason.rawValue)),
            ("message", outcome.message.map { .string($0) } ?? .null),
            ("final_loss", num(last?.loss)),
            ("final_accuracy", num(last?.accuracy)),
            ("seconds", .number((outcome.seconds * 1000).rounded() / 1000)),
            ("samples_per_second", outcome.trainSeconds > 0 ? .number((Double(outcome.samplesTrained) / outcome.trainSeconds).rounded()) : .null),
            ("parameters", .number(Double(trainer.model.store.count))),
            ("threads", .number(Double(threads))),
            ("seed", .number(Double(config.seed))),
            ("nntrain_version", .string(version)),
        ])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func unlinkIfPresent(_ path: String) -> Bool { unlink(path) == 0 }

/// Online CPU cores.
enum ProcessInfoCores {
    static var count: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
