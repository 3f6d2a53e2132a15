import NNCore

/// What `--resume` needs, in one safetensors file written atomically
/// (`checkpoint/checkpoint.safetensors`): the weights, the optimizer state, the best weights
/// kept for early stopping, the sample order of the current epoch, every random stream, and
/// in the metadata the trainer state (epoch, step, running sums, early-stopping record), the
/// thread count and the resolved config it was trained with.
public struct Checkpoint {
    public static let fileName = "checkpoint/checkpoint.safetensors"

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
            ("nntrain_checkpoint", "1"),
            ("state", state.json.serialized(indent: 0)),
            ("optimizer_step", String(optimizerStep)),
            ("threads", String(threads)),
            ("config", config.serialized(indent: 0)),
            ("config_hash", configHash(config)),
        ])
        try FileIO.makeDirectories(directory + "/checkpoint")
        try FileIO.writeAtomically(Checkpoint.path(in: directory), bytes)
    }

    public static func read(from directory: String) throws(DataError) -> Checkpoint? {
        let path = Checkpoint.path(in: directory)
        guard FileIO.exists(path) else { return nil }
        func bad(_ why: String) -> DataError { DataError(file: path, "is not a usable checkpoint: \(why)") }
        let decoded: (entries: [Safetensors.Entry], metadata: [String: String])
        do { decoded = try Safetensors.decode(try FileIO.read(path)) } catch let e as FileError {
            throw bad(e.reason)
        } catch {
            throw bad("\(error)")
        }
        let meta = decoded.metadata
        guard meta["nntrain_checkpoint"] == "1", let stateText = meta["state"],
              let stateJSON = try? JSONValue.parse(stateText), let state = TrainerState(json: stateJSON),
              let configText = meta["config"], let config = try? JSONValue.parse(configText),
              let step = meta["optimizer_step"].flatMap({ Int($0) }), let threads = meta["threads"].flatMap({ Int($0) })
        else { throw bad("missing or invalid metadata") }
        let byName = Dictionary(decoded.entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard let params = byName["parameters"], params.dtype == .f32, let order = byName["order"], order.dtype == .i32 else {
            throw bad("missing parameters or order")
        }
        var buffers: [String: [Float]] = [:]
        var rngs: [String: [UInt64]] = [:]
        var layerBuffers: [String: [Float]] = [:]
        for e in decoded.entries {
            if e.name.hasPrefix("buffer."), e.dtype == .f32 { layerBuffers[String(e.name.dropFirst(7))] = e.values }
            if e.name.hasPrefix("optimizer.") { buffers[String(e.name.dropFirst(10))] = e.values }
            if e.name.hasPrefix("rng."), e.dtype == .u64, e.integers.count == 4 { rngs[String(e.name.dropFirst(4))] = e.integers }
        }
        return Checkpoint(state: state, parameters: params.values, optimizerStep: step, optimizerBuffers: buffers,
                          bestParameters: byName["best_parameters"]?.values, order: order.int32s, randomStates: rngs,
                          layerBuffers: layerBuffers, threads: threads, config: config)
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
