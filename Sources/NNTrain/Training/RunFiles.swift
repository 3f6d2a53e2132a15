import NNCore

/// Why a run ended (`summary.json` `stop_reason`).
public enum StopReason: String, Sendable {
    case completed, earlyStopping = "early_stopping", diverged, interrupted
    /// Stopped at an epoch budget below `training.epochs` (a successive-halving rung);
    /// `--resume` continues it exactly as if it had never stopped.
    case paused
}

/// One row of `curves.csv` (Keras CSVLogger names).
public struct CurveRow: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var lr: Float
    public var loss: Double
    public var accuracy: Double?
    public var valLoss: Double?
    public var valAccuracy: Double?
    public var seconds: Double

    public static let header = "epoch,step,lr,loss,accuracy,val_loss,val_accuracy,seconds"

    public var csv: String {
        [String(epoch), String(step), "\(lr)", cell(loss), cell(accuracy), cell(valLoss), cell(valAccuracy),
         String(format3(seconds))].joined(separator: ",")
    }

    /// The value of a `curves.csv` column (for early stopping, reduce_on_plateau and sweeps).
    public func metric(_ m: Metric) -> Double? {
        switch m {
        case .loss: return loss
        case .accuracy: return accuracy
        case .valLoss: return valLoss
        case .valAccuracy: return valAccuracy
        }
    }
}

func cell(_ v: Double?) -> String {
    guard let v else { return "" }
    return v.isFinite ? "\(v)" : (v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf"))
}

func format3(_ v: Double) -> String {
    let r = (v * 1000).rounded() / 1000
    return "\(r)"
}

/// The files of a run directory (DESIGN §5), written as training goes: every CSV row is
/// flushed when written; JSON and safetensors files are replaced atomically.
///
/// A row that cannot be written (no space left on the device, an I/O error) is not dropped
/// silently: the first failure is kept in `writeError`, later rows are not written (so the
/// file never has a gap), and the trainer ends the run before its next checkpoint.
public final class RunFiles {
    public let directory: String
    /// The first CSV row that could not be written, if any.
    public private(set) var writeError: FileError?
    private let curves: LineWriter
    private let steps: LineWriter
    private var layers: LineWriter?
    /// TensorBoard's event file (`output.tensorboard`): the same rows as steps.csv and curves.csv.
    private var events: TensorBoardWriter?
    /// The resolved `model` object (written into model.safetensors' metadata).
    private let resolvedModel: JSONValue?

    public static let stepsHeader = "step,epoch,lr,loss,grad_norm"

    /// Creates the directory and the CSV files with their headers, and writes `config.json`;
    /// with `tensorboard`, a new event file (the event files of an earlier run there go).
    public init(directory: String, resolvedConfig: JSONValue, tensorboard: Bool = false) throws(FileError) {
        self.directory = directory
        resolvedModel = resolvedConfig["model"]
        try FileIO.makeDirectories(directory)
        try FileIO.writeAtomically(directory + "/config.json", text: resolvedConfig.serialized() + "\n")
        curves = try LineWriter(path: directory + "/curves.csv", append: false)
        try curves.write(CurveRow.header)
        steps = try LineWriter(path: directory + "/steps.csv", append: false)
        try steps.write(RunFiles.stepsHeader)
        FileIO.remove(directory + "/layers.csv")
        for path in TensorBoardWriter.eventFiles(in: directory) { FileIO.remove(path) }
        if tensorboard { events = try TensorBoardWriter(newIn: directory) }
    }

    /// One `layers.csv` row (the file and its header are created on first use).
    public func appendLayer(_ d: LayerDiagnostics, epoch: Int) {
        guard writeError == nil else { return }
        do {
            let writer: LineWriter
            if let l = layers { writer = l } else {
                let path = directory + "/layers.csv"
                let fresh = !FileIO.exists(path)
                writer = try LineWriter(path: path, append: true)
                layers = writer
                if fresh { try writer.write(LayerDiagnostics.header) }
            }
            try writer.write(d.csv(epoch: epoch))
        } catch {
            writeError = error
        }
    }

    /// Writes one row unless an earlier row failed; keeps the first failure.
    private func append(_ line: String, to writer: LineWriter) {
        guard writeError == nil else { return }
        do { try writer.write(line) } catch { writeError = error }
    }

    /// Reopens the files of a run being resumed. Rows written after the checkpoint (the run
    /// was killed between a row and the next checkpoint) are dropped, so the files read as if
    /// the run had never stopped: `curveRows` rows of curves.csv, steps.csv up to `lastStep`,
    /// and the event files' events up to `lastStep` (an epoch's events are at its last step).
    /// With `tensorboard`, events go on in the newest event file (a new one if there is none).
    public init(resuming directory: String, resolvedConfig: JSONValue, curveRows: Int, lastStep: Int,
                tensorboard: Bool = false) throws(FileError) {
        self.directory = directory
        resolvedModel = resolvedConfig["model"]
        try FileIO.writeAtomically(directory + "/config.json", text: resolvedConfig.serialized() + "\n")
        func keep(_ name: String, header: String, _ keepRow: (Int, Substring) -> Bool) throws(FileError) {
            let path = directory + "/" + name
            let text = FileIO.exists(path) ? String(decoding: try FileIO.read(path), as: UTF8.self) : ""
            var lines = [header]
            // Only complete lines (ending in a newline) count; a torn last line is dropped.
            let complete = text.hasSuffix("\n") ? text.split(separator: "\n") : text.split(separator: "\n").dropLast()
            for (i, line) in complete.dropFirst().enumerated() where keepRow(i, line) { lines.append(String(line)) }
            try FileIO.writeAtomically(path, text: lines.joined(separator: "\n") + "\n")
        }
        // A row goes only when the checkpoint proves it is beyond it (its epoch is later than
        // the checkpoint's); every other row stays.
        try keep("curves.csv", header: CurveRow.header) { _, line in
            (line.split(separator: ",").first.flatMap { Int($0) } ?? 0) <= curveRows
        }
        try keep("steps.csv", header: RunFiles.stepsHeader) { _, line in
            (line.split(separator: ",").first.flatMap { Int($0) } ?? 0) <= lastStep
        }
        if FileIO.exists(directory + "/layers.csv") {
            try keep("layers.csv", header: LayerDiagnostics.header) { _, line in
                (line.split(separator: ",").first.flatMap { Int($0) } ?? 0) <= curveRows
            }
        }
        let eventFiles = TensorBoardWriter.eventFiles(in: directory)
        for path in eventFiles { try TensorBoardWriter.trim(path, lastStep: lastStep) }
        curves = try LineWriter(path: directory + "/curves.csv", append: true)
        steps = try LineWriter(path: directory + "/steps.csv", append: true)
        if tensorboard {
            if let last = eventFiles.last { events = try TensorBoardWriter(appendingTo: last) } else {
                events = try TensorBoardWriter(newIn: directory)
            }
        }
    }

    /// The event file being written, if any.
    public var eventFile: String? { events?.path }

    public func append(_ row: CurveRow) {
        append(row.csv, to: curves)
        if let events, writeError == nil {
            do { try events.writeEpoch(row) } catch { writeError = error }
        }
    }

    public func appendStep(step: Int, epoch: Int, lr: Float, loss: Double, gradNorm: Double?) {
        append("\(step),\(epoch),\(lr),\(cell(loss)),\(cell(gradNorm))", to: steps)
        if let events, writeError == nil {
            do { try events.writeStep(step: step, lr: lr, loss: loss, gradNorm: gradNorm) } catch { writeError = error }
        }
    }

    public func writeSummary(_ summary: JSONValue) throws(FileError) {
        try FileIO.writeAtomically(directory + "/summary.json", text: summary.serialized() + "\n")
    }

    /// `model.safetensors` (PyTorch state-dict names and dtypes: `num_batches_tracked` is an I64
    /// scalar as torch writes it) and `preprocess.safetensors`. The metadata gains
    /// `nntrain_model`, the resolved `model` object of `config.json`, so a loader can rebuild
    /// and check the architecture.
    public func writeModel(_ model: Model, preprocessor: Preprocessor, classWeights: [Float]? = nil,
                           metadata: [(String, String)]) throws(FileError) {
        try writeWeights(model, to: directory + "/model.safetensors", metadata: metadata)
        try writePreprocess(preprocessor, classWeights: classWeights)
    }

    /// The model's tensors as `model.safetensors` holds them, written to `path` with `metadata`
    /// (and `nntrain_model`).
    public func writeWeights(_ model: Model, to path: String, metadata: [(String, String)]) throws(FileError) {
        try FileIO.writeAtomically(path, RunFiles.encodeWeights(model, metadata: metadata, resolvedModel: resolvedModel))
    }

    /// The bytes of a weights file of `model` (see `writeWeights`).
    public static func encodeWeights(_ model: Model, metadata: [(String, String)], resolvedModel: JSONValue?) -> [UInt8] {
        let entries = model.parameters.map { Safetensors.Entry(name: $0.name, shape: $0.value.shape.dims, values: $0.value.scalars) }
            + model.buffers.map { name, t in
                guard name.hasSuffix(".num_batches_tracked"), t.count == 1 else {
                    return Safetensors.Entry(name: name, shape: t.shape.dims, values: t.scalars)
                }
                let n = t.scalars[0]
                return Safetensors.Entry(name: name, shape: [], int64s: [n.isFinite && abs(n) < 1e18 ? Int64(n) : 0])
            }
        var meta = metadata.filter { $0.0 != "nntrain_model" }
        if let m = resolvedModel { meta.append(("nntrain_model", m.serialized(indent: 0))) }
        return Safetensors.encode(entries, metadata: meta, checksum: true)
    }

    /// `preprocess.safetensors`: the fitted preprocessing and the loss's class weights.
    public func writePreprocess(_ preprocessor: Preprocessor, classWeights: [Float]?) throws(FileError) {
        var pre = [
            Safetensors.Entry(name: "scale", shape: [preprocessor.scale.count], values: preprocessor.scale),
            Safetensors.Entry(name: "shift", shape: [preprocessor.shift.count], values: preprocessor.shift),
        ]
        if let p = preprocessor.projection {
            pre.append(Safetensors.Entry(name: "projection", shape: [preprocessor.outputCount, preprocessor.scale.count], values: p))
        }
        // The loss's class weights ("balanced" ones are fitted on the training split), so that
        // `eval` computes the same weighted loss as the run's test_loss.
        if let w = classWeights { pre.append(Safetensors.Entry(name: "class_weights", shape: [w.count], values: w)) }
        try FileIO.writeAtomically(directory + "/preprocess.safetensors",
                                   Safetensors.encode(pre, metadata: [("formula", "input = projection · (stored_value * scale + shift) (projection only after PCA/ZCA); IDX and CIFAR pixels are stored as bytes 0..255")], checksum: true))
    }
}
