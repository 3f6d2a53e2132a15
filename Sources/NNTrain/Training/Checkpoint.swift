import NNCore

/// What `--resume` needs, in one safetensors file written atomically
/// (`checkpoint/checkpoint.safetensors`): the weights, the optimizer state, the best weights
/// kept for early stopping, the sample order of the current epoch, every random stream, and
/// in the metadata the trainer state (epoch, step, running sums, early-stopping record), the
/// thread count and the resolved config it was trained with.
///
/// Format 2 carries a CRC-32 (`Safetensors.checksumKey`) over the header and every tensor
/// byte. Reading trusts nothing: the checksum must match (a damaged or edited file is exit 3
/// naming it), every tensor must have its dtype and a 1-D shape, floats must be finite, random
/// states must be 4 words and not all zero (xoshiro's fixed point), and every state field must
/// be a whole number or finite value (`TrainerState(checkpoint:)`). `Trainer.restore` then
/// checks the fields against the config and the data.
public struct Checkpoint {
    public static let fileName = "checkpoint/checkpoint.safetensors"
    /// The format written; format 1 (before checksums) is refused with a clear message.
    public static let format = "2"

    public var state: TrainerState
    public var parameters: [Float]
    public var optimizerStep: Int
    public var optimizerBuffers: [String: [Float]]
    public var bestParameters: [Float]?
    public var order: [Int32]
    public var randomStates: [String: [UInt64]]
    /// Layer state that is not learned (batch norm running statistics), by tensor name.
    public var layerBuffers: [String: [Float]] = [:]
    public var threads: Int
    public var config: JSONValue
    /// The file it was read from (empty for one built in memory).
    public var file = ""

    public static func path(in directory: String) -> String { directory + "/" + fileName }

    public func write(to directory: String) throws(FileError) {
        var entries = [Safetensors.Entry(name: "parameters", shape: [parameters.count], values: parameters)]
        for (name, values) in optimizerBuffers.sorted(by: { $0.key < $1.key }) {
            entries.append(Safetensors.Entry(name: "optimizer." + name, shape: [values.count], values: values))
        }
        if let b = bestParameters { entries.append(Safetensors.Entry(name: "best_parameters", shape: [b.count], values: b)) }
        entries.append(Safetensors.Entry(name: "order", int32s: order))
        for (name, s) in randomStates.sorted(by: { $0.key < $1.key }) {
            entries.append(Safetensors.Entry(name: "rng." + name, uint64s: s))
        }
        for (name, values) in layerBuffers.sorted(by: { $0.key < $1.key }) {
            entries.append(Safetensors.Entry(name: "buffer." + name, shape: [values.count], values: values))
        }
        let bytes = Safetensors.encode(entries, metadata: [
            ("nntrain_checkpoint", Checkpoint.format),
            ("state", state.json.serialized(indent: 0)),
            ("optimizer_step", String(optimizerStep)),
            ("threads", String(threads)),
            ("config", config.serialized(indent: 0)),
            ("config_hash", configHash(config)),
        ], checksum: true)
        try FileIO.makeDirectories(directory + "/checkpoint")
        try FileIO.writeAtomically(Checkpoint.path(in: directory), bytes)
    }

    /// The most BLAS threads a checkpoint may ask for.
    static let maxThreads = 1024

    /// The checkpoint in `directory`, nil when there is none; a file that is damaged, edited
    /// or not a checkpoint is a `DataError` naming it (exit 3).
    public static func read(from directory: String) throws(DataError) -> Checkpoint? {
        let path = Checkpoint.path(in: directory)
        guard FileIO.exists(path) else { return nil }
        func bad(_ why: String) -> DataError { DataError(file: path, "is not a usable checkpoint: \(why)") }
        let decoded: Safetensors.File
        do { decoded = try Safetensors.read(path, limit: DataLimits.maxBytes) } catch let e as FileError {
            throw bad(e.reason)
        } catch {
            throw bad("\(error)")
        }
        let meta = decoded.metadata
        guard let format = meta["nntrain_checkpoint"] else { throw bad("no nntrain_checkpoint in its metadata") }
        guard let matches = decoded.checksumMatches else {
            if format == "1" {
                throw bad("it was written by an older nntrain (checkpoint format 1, without a checksum); start the run again with --force")
            }
            throw bad("it has no checksum (\(Safetensors.checksumKey) in its metadata)")
        }
        guard matches else {
            throw bad("its checksum does not match its contents: the file was damaged or edited after it was written")
        }
        guard format == Checkpoint.format else { throw bad("checkpoint format \(format), this nntrain reads format \(Checkpoint.format)") }
        guard let stateText = meta["state"], let stateJSON = try? JSONValue.parse(stateText) else {
            throw bad("state is missing from the metadata or is not valid JSON")
        }
        let state: TrainerState
        do { state = try TrainerState(checkpoint: stateJSON) } catch { throw bad(error.message) }
        guard let configText = meta["config"], let config = try? JSONValue.parse(configText), config.objectValue != nil else {
            throw bad("config is missing from the metadata or is not a JSON object")
        }
        // The config it was saved with ran at least the epochs it has done.
        guard let savedEpochs = config["training"]?["epochs"]?.doubleValue.flatMap({ Int(exactly: $0) }), state.epochsDone <= savedEpochs else {
            throw bad("state.epochs_done is \(state.epochsDone), more than the config's training.epochs (\(config["training"]?["epochs"]?.serialized(indent: 0) ?? "missing"))")
        }
        guard let stepText = meta["optimizer_step"], let step = Int(stepText), step >= 0 else {
            throw bad("optimizer_step \(meta["optimizer_step"].map { "\"\($0)\"" } ?? "missing"), expected a whole number >= 0")
        }
        guard let threadText = meta["threads"], let threads = Int(threadText), (1...maxThreads).contains(threads) else {
            throw bad("threads \(meta["threads"].map { "\"\($0)\"" } ?? "missing"), expected a whole number in 1...\(maxThreads)")
        }

        var parameters: [Float]?
        var order: [Int32]?
        var best: [Float]?
        var buffers: [String: [Float]] = [:]
        var rngs: [String: [UInt64]] = [:]
        var layerBuffers: [String: [Float]] = [:]
        for e in decoded.entries {
            func floats() throws(DataError) -> [Float] {
                guard e.dtype == .f32, e.shape.count == 1 else {
                    throw bad("tensor \(e.name) is \(e.dtype.rawValue) \(e.shape), expected a 1-D F32 tensor")
                }
                if let i = e.values.firstIndex(where: { !$0.isFinite }) {
                    throw bad("tensor \(e.name) holds \(e.values[i]) at index \(i), expected finite values")
                }
                return e.values
            }
            if e.name == "parameters" {
                parameters = try floats()
            } else if e.name == "best_parameters" {
                best = try floats()
            } else if e.name == "order" {
                guard e.dtype == .i32, e.shape.count == 1 else { throw bad("tensor order is \(e.dtype.rawValue) \(e.shape), expected a 1-D I32 tensor") }
                order = e.int32s
            } else if e.name.hasPrefix("optimizer.") {
                buffers[String(e.name.dropFirst(10))] = try floats()
            } else if e.name.hasPrefix("buffer.") {
                layerBuffers[String(e.name.dropFirst(7))] = try floats()
            } else if e.name.hasPrefix("rng.") {
                guard e.dtype == .u64, e.shape == [4] else { throw bad("tensor \(e.name) is \(e.dtype.rawValue) \(e.shape), expected U64 [4] (a random state)") }
                // xoshiro256**'s all-zero state is a fixed point: it would draw 0 forever.
                guard e.integers.contains(where: { $0 != 0 }) else { throw bad("random state \(e.name) is all zero") }
                rngs[String(e.name.dropFirst(4))] = e.integers
            } else {
                throw bad("unexpected tensor \(e.name)")
            }
        }
        guard let parameters else { throw bad("tensor parameters is missing") }
        guard let order else { throw bad("tensor order is missing") }
        if let best, best.count != parameters.count {
            throw bad("best_parameters has \(best.count) values, parameters \(parameters.count)")
        }
        return Checkpoint(state: state, parameters: parameters, optimizerStep: step, optimizerBuffers: buffers,
                          bestParameters: best, order: order, randomStates: rngs, layerBuffers: layerBuffers,
                          threads: threads, config: config, file: path)
    }
}

/// The key paths where two configs differ (`$.optimizer.lr: 0.001 → 0.01`).
public func configDifferences(_ a: JSONValue, _ b: JSONValue, path: String = "$") -> [String] {
    switch (a, b) {
    case let (.object(pa), .object(pb)):
        var out: [String] = []
        let keys = pa.map(\.0) + pb.map(\.0).filter { k in !pa.contains { $0.0 == k } }
        for k in keys { out += configDifferences(a[k] ?? .null, b[k] ?? .null, path: path + "." + k) }
        return out
    case let (.array(xa), .array(xb)) where xa.count == xb.count:
        return zip(xa, xb).enumerated().flatMap { configDifferences($0.element.0, $0.element.1, path: path + ".\($0.offset)") }
    default:
        return a == b ? [] : ["\(path): \(a.serialized(indent: 0)) → \(b.serialized(indent: 0))"]
    }
}

/// A resolved config without the keys a resume may change (the number of epochs).
func configForComparison(_ c: JSONValue) -> JSONValue {
    guard case .object(var top) = c, let i = top.firstIndex(where: { $0.0 == "training" }),
          case .object(var training) = top[i].1 else { return c }
    training.removeAll { $0.0 == "epochs" }
    top[i].1 = .object(training)
    // Whether TensorBoard's events are written changes no result (`--resume --tensorboard`).
    if let o = top.firstIndex(where: { $0.0 == "output" }), case .object(var output) = top[o].1 {
        output.removeAll { $0.0 == "tensorboard" }
        top[o].1 = .object(output)
    }
    return .object(top)
}

/// FNV-1a (64-bit) of the config as compared on resume (without `training.epochs`), in hex.
public func configHash(_ config: JSONValue) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in configForComparison(config).serialized(indent: 0).utf8 {
        h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
    }
    return String(h, radix: 16)
}
