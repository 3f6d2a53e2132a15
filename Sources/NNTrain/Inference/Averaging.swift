import NNCore

/// `nntrain average RUN_DIR --snapshots SPEC --out DIR`: the weights of a run's snapshots
/// averaged (stochastic weight averaging, Izmailov et al. 2018): every parameter and buffer
/// w = (1/M) Σₘ wₘ over the M snapshots SPEC selects; then, when the model has batch norm, its
/// running statistics recomputed over one pass of the training split (as
/// `torch.optim.swa_utils.update_bn`: see `Trainer.recomputeRunningStatistics`), since the
/// average of the snapshots' statistics does not describe the averaged weights. DIR becomes a
/// run directory that `eval`, `predict` and `export` accept: the run's `config.json` and
/// `preprocess.safetensors`, the averaged `model.safetensors` and a `summary.json` with the
/// test loss and accuracy of the result. Weights or a test loss that are not finite:
/// `.diverged` (exit 4), nothing written.
public enum Averaging {
    public struct Result {
        public var directory: String
        public var members: [Snapshots.Entry]
        public var recomputedBatchNorm: Bool
        public var testLoss: Double?
        public var testAccuracy: Double?
        public var summary: JSONValue
    }

    public static func run(directory: String, snapshots spec: String, out: String, force: Bool, threads: Int?) throws(RunError) -> Result {
        let picked = try Snapshots.select(spec, in: directory)
        guard force || !(FileIO.exists(out + "/model.safetensors") || FileIO.exists(out + "/config.json")) else {
            throw .config(["\(out) already holds a run; pass --force to replace it, or --out DIR to write elsewhere"])
        }
        // The run itself, under any name (a symbolic link to it included).
        guard FileIO.absolutePath(out) != FileIO.absolutePath(directory),
              FileIO.resolvedPath(out) == nil || FileIO.resolvedPath(out) != FileIO.resolvedPath(directory) else {
            throw .config(["--out \(out) is the run itself; write the average elsewhere"])
        }
        var members: [TrainedModel] = []
        for s in picked { members.append(try TrainedModel.load(directory, weights: s.path)) }
        let target = try TrainedModel.load(directory, weights: picked[0].path)
        let tensors = target.model.parameters.map { ($0.name, $0.value) } + target.model.buffers
        let memberTensors = members.map { m in Dictionary(m.model.parameters.map { ($0.name, $0.value) } + m.model.buffers, uniquingKeysWith: { a, _ in a }) }
        for (name, t) in tensors {
            var sum = [Double](repeating: 0, count: t.count)
            for m in memberTensors {
                guard let u = m[name], u.count == t.count else { continue }
                for i in 0..<t.count { sum[i] += Double(u.pointer[i]) }
            }
            for i in 0..<t.count { t.pointer[i] = Float(sum[i] / Double(members.count)) }
        }
        let config = target.config
        Experiment.setThreads(config: config, option: threads)
        let (train, _, test) = try Experiment.loadData(config)
        let trainer = Trainer(config: config, model: target.model, train: train, validation: nil, test: nil, preprocessor: target.preprocessor)
        if let w = target.classWeights { trainer.loss.classWeights = w }
        let recomputed = trainer.recomputeRunningStatistics(train)
        var testLoss: Double? = nil, testAccuracy: Double? = nil
        if let test, test.count > 0 { (testLoss, testAccuracy) = trainer.evaluate(test) }
        // Weights that are not finite (a snapshot that holds NaN or Inf) are no result: as
        // `eval` on such a model, exit 4 (and write nothing).
        let finite = (tensors.map(\.1) + target.model.buffers.map(\.1)).allSatisfy { t in (0..<t.count).allSatisfy { t.pointer[$0].isFinite } }
        if !finite || testLoss.map({ !$0.isFinite }) == true {
            throw .diverged("the average of \(directory)'s snapshots (epochs \(picked.map { String($0.epoch) }.joined(separator: ", "))) "
                            + (finite ? "gives a test loss of \(testLoss!)" : "holds weights that are NaN or infinite")
                            + ": a snapshot's weights are not finite; nothing written to \(out)")
        }
        // The run's own files, then the averaged weights and the summary.
        func num(_ d: Double?) -> JSONValue { d.map { $0.isFinite ? .number($0) : .null } ?? .null }
        let files = picked.map { Snapshots.folder + "/" + Snapshots.fileName($0.epoch) }
        let summary = JSONValue.object([
            ("name", .string(config.name + "-swa")), ("averaged_from", .string(directory)),
            ("snapshots", .array(files.map { .string($0) })), ("epochs", .array(picked.map { .number(Double($0.epoch)) })),
            ("batch_norm_recomputed", .bool(recomputed)), ("test_loss", num(testLoss)), ("test_accuracy", num(testAccuracy)),
            ("nntrain_version", .string(Experiment.version)),
        ])
        do {
            let configBytes = try FileIO.read(directory + "/config.json", limit: ConfigLoader.maxBytes)
            let resolvedModel = (try? JSONValue.parse(configBytes))?["model"]
            let weights = RunFiles.encodeWeights(target.model, metadata: [
                ("format", "pt"), ("nntrain_version", Experiment.version), ("input_shape", "\(config.model.input)"),
                ("averaged_from", files.joined(separator: " ")),
            ], resolvedModel: resolvedModel)
            let pre = try FileIO.read(directory + "/preprocess.safetensors", limit: DataLimits.maxBytes)
            try FileIO.makeDirectories(out)
            try FileIO.writeAtomically(out + "/config.json", configBytes)
            try FileIO.writeAtomically(out + "/preprocess.safetensors", pre)
            try FileIO.writeAtomically(out + "/model.safetensors", weights)
            try FileIO.writeAtomically(out + "/summary.json", text: summary.serialized() + "\n")
        } catch {
            throw .io("cannot write \(out): \(error)")
        }
        return Result(directory: out, members: picked, recomputedBatchNorm: recomputed, testLoss: testLoss, testAccuracy: testAccuracy, summary: summary)
    }
}
