import NNCore

/// `training.snapshots`: after each completed epoch e with value v of the monitored metric,
/// the weights are written to `snapshots/epoch-NNN.safetensors` (atomically, the format of
/// `model.safetensors`, with `epoch`, `monitor`, `value` and `goal` in the metadata) when e is
/// kept, and the snapshots no longer kept are removed. Kept: e with e mod `every` = 0, and the
/// `best` epochs by v among those written so far (a finite v only; ties: the earlier epoch).
/// The set is read back from the snapshots' own metadata each epoch, so a resumed run keeps
/// exactly the files an uninterrupted one keeps.
public struct Snapshots: Sendable {
    public static let folder = "snapshots"

    /// One snapshot on disk, as its metadata says.
    public struct Entry: Sendable, Equatable {
        public var epoch: Int
        /// The monitored metric's value at that epoch (nil: not finite, or unreadable).
        public var value: Double?
        public var path: String
        /// The metadata's `goal`: whether a larger value is better.
        public var maximize = false
    }

    public let config: SnapshotConfig
    public let monitor: Metric
    public let maximize: Bool

    public init(config: SnapshotConfig, monitor: Metric, maximize: Bool) {
        self.config = config; self.monitor = monitor; self.maximize = maximize
    }

    /// `epoch-007.safetensors` (at least three digits).
    public static func fileName(_ epoch: Int) -> String {
        let s = String(epoch)
        return "epoch-" + String(repeating: "0", count: max(0, 3 - s.count)) + s + ".safetensors"
    }

    /// The epoch a snapshot file name holds; nil for any other name, a non-canonical spelling
    /// included (`epoch-0007.safetensors` is not a second snapshot of epoch 7).
    public static func epoch(fileName name: String) -> Int? {
        guard name.hasPrefix("epoch-"), name.hasSuffix(".safetensors") else { return nil }
        let digits = name.dropFirst(6).dropLast(12)
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits).flatMap { $0 >= 1 && fileName($0) == name ? $0 : nil }
    }

    /// The snapshots in `directory/snapshots`, by epoch; a file whose header does not read, or
    /// whose metadata names another epoch, has no value. Only regular files (or links to one)
    /// count: a FIFO of a snapshot's name would block the read of its header for ever.
    public static func list(in directory: String) -> [Entry] {
        let folder = directory + "/" + Snapshots.folder
        return FileIO.listDirectory(folder).compactMap { name -> Entry? in
            guard let e = epoch(fileName: name), FileIO.isRegularFile(folder + "/" + name) else { return nil }
            let path = folder + "/" + name
            let meta = try? Safetensors.readMetadata(path)
            var value: Double? = nil
            if let meta, meta["epoch"] == String(e), let text = meta["value"], let v = Double(text), v.isFinite { value = v }
            return Entry(epoch: e, value: value, path: path, maximize: meta?["goal"] == "maximize")
        }.sorted { $0.epoch < $1.epoch }
    }

    /// The epochs kept among `candidates` (see the type's doc comment).
    public func kept(_ candidates: [Entry]) -> Set<Int> {
        var keep = Set<Int>()
        if let every = config.every { for c in candidates where c.epoch % every == 0 { keep.insert(c.epoch) } }
        if let best = config.best {
            let ranked = candidates.filter { $0.value != nil }.sorted { a, b in
                a.value! != b.value! ? (maximize ? a.value! > b.value! : a.value! < b.value!) : a.epoch < b.epoch
            }
            for c in ranked.prefix(best) { keep.insert(c.epoch) }
        }
        return keep
    }

    /// After epoch `epoch` (1-based) with `value`: writes its snapshot through `write` (given
    /// the path) when kept, then removes the snapshots no longer kept. Returns the kept entries.
    @discardableResult
    public func update(directory: String, epoch: Int, value: Double?,
                       write: (String) throws(FileError) -> Void) throws(FileError) -> [Entry] {
        let folder = directory + "/" + Snapshots.folder
        let path = folder + "/" + Snapshots.fileName(epoch)
        let current = Entry(epoch: epoch, value: value.flatMap { $0.isFinite ? $0 : nil }, path: path)
        // A snapshot of this epoch or later is from an attempt that did not reach its checkpoint.
        let earlier = Snapshots.list(in: directory).filter { $0.epoch < epoch }
        let keep = kept(earlier + [current])
        if keep.contains(epoch) {
            try FileIO.makeDirectories(folder)
            try write(path)
        } else {
            FileIO.remove(path)
        }
        for e in Snapshots.list(in: directory) where !keep.contains(e.epoch) { FileIO.remove(e.path) }
        return Snapshots.list(in: directory)
    }

    /// The metadata a snapshot carries besides the model's.
    public func metadata(epoch: Int, value: Double?) -> [(String, String)] {
        [("epoch", String(epoch)), ("monitor", monitor.rawValue),
         ("value", value.map { $0.isFinite ? JSONValue.format($0) : "nan" } ?? "nan"), ("goal", maximize ? "maximize" : "minimize")]
    }

    /// `summary.json`'s `snapshots`: `[{"epoch", "file", <monitor>}]`, files relative to the run.
    public static func summary(directory: String, monitor: Metric) -> JSONValue {
        .array(list(in: directory).map { e in
            .object([("epoch", .number(Double(e.epoch))), ("file", .string(folder + "/" + fileName(e.epoch))),
                     (monitor.rawValue, e.value.map { .number($0) } ?? .null)])
        })
    }

    /// The snapshots of the run in `directory` that `spec` names: `all`, `last:K` (the K latest
    /// epochs) or `best:K` (the K best values, ties to the earlier epoch), by epoch. `.config`
    /// for another spec or a run without snapshots.
    public static func select(_ spec: String, in directory: String) throws(RunError) -> [Entry] {
        let all = list(in: directory)
        guard !all.isEmpty else {
            throw .config(["\(directory) has no snapshots (\(folder)/epoch-NNN.safetensors): train it with training.snapshots"])
        }
        if spec == "all" { return all }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, ["best", "last"].contains(parts[0]), let k = Int(parts[1]), k >= 1 else {
            throw .config(["--snapshots \(spec): expected all, last:K or best:K (K ≥ 1)"])
        }
        if parts[0] == "last" { return Array(all.suffix(k)) }
        let ranked = all.filter { $0.value != nil }.sorted { a, b in
            a.value! != b.value! ? (a.maximize ? a.value! > b.value! : a.value! < b.value!) : a.epoch < b.epoch
        }
        guard !ranked.isEmpty else { throw .config(["\(directory): no snapshot has a finite value to rank by"]) }
        return ranked.prefix(k).sorted { $0.epoch < $1.epoch }
    }
}
