import NNCore

// plan.json: written once when a sweep starts; read whole, or one trial's entry alone.

extension SweepPlan {
    public var json: JSONValue {
        var o: [(String, JSONValue)] = [
            ("nntrain_version", .string(Experiment.version)),
            ("name", .string(spec.name)),
            ("method", .string(spec.method.rawValue)),
            ("metric", .object([("name", .string(spec.metric.name)), ("goal", .string(spec.metric.goal))])),
            ("seed", .number(Double(spec.seed))),
            ("run_cap", .number(Double(configurationCount))),
        ]
        if spec.repeats > 1 {
            o.append(("repeats", .number(Double(spec.repeats))))
            o.append(("trial_count", .number(Double(trials.count))))
        }
        if spec.method == .halving {
            o.append(("rungs", .array(rungs.map { .number(Double($0)) })))
            o.append(("eta", .number(Double(spec.eta))))
        }
        o += [
            ("parameters", .array(spec.parameters.map { .string($0.path) })),
            ("sweep", spec.resolved),
            ("config_path", .string(spec.configPath)),
            ("config_directory", .string(baseDirectory)),
            ("base_config", base),
            ("trials", .array(trials.map { t in
                var o: [(String, JSONValue)] = [("trial", .number(Double(t.index)))]
                if spec.repeats > 1 { o += [("config", .number(Double(t.config))), ("repeat", .number(Double(t.repeatIndex)))] }
                o += [("seed", .number(Double(t.seed))), ("params", .object(zip(spec.parameters, t.values).map { ($0.path, $1) }))]
                return .object(o)
            })),
        ]
        return .object(o)
    }

    /// Reads `DIR/plan.json`.
    public static func load(directory: String) throws(ConfigLoadError) -> SweepPlan {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: 256 << 20) } catch { throw .file(error) }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes, maxDepth: 96) } catch { throw .syntax(path: path, error) }
        guard case .array(let ts)? = json["trials"] else { throw notAPlan(path) }
        var (spec, base, dir) = try header(json, path: path)
        var trials: [PlannedTrial] = []
        let repeats = max(1, spec.repeats)
        guard ts.count % repeats == 0 else {
            throw .invalid(path: path, ConfigErrors([ConfigError(path: "$.trials", message: "expected a multiple of repeats (\(repeats)) trials, got \(ts.count)")]))
        }
        trials.reserveCapacity(ts.count)
        for (i, t) in ts.enumerated() { trials.append(try trial(t, index: i, spec: spec, path: path)) }
        spec.runCap = trials.count / repeats
        return SweepPlan(spec: spec, base: base, baseDirectory: dir, trials: trials)
    }

    static func notAPlan(_ path: String) -> ConfigLoadError {
        .invalid(path: path, ConfigErrors([ConfigError(path: "$", message: "not an nntrain sweep plan (missing sweep, base_config, config_directory or trials)")]))
    }

    /// The sweep, base config and folder of a plan.json object.
    static func header(_ json: JSONValue, path: String) throws(ConfigLoadError) -> (SweepSpec, JSONValue, String) {
        guard let sweep = json["sweep"], let base = json["base_config"], case .string(let dir)? = json["config_directory"] else {
            throw notAPlan(path)
        }
        var spec: SweepSpec
        do { spec = try SweepReader.read(sweep, baseDirectory: dir, defaultName: "sweep") } catch { throw .invalid(path: path, error) }
        if case .string(let cp)? = json["config_path"] { spec.configPath = cp }
        return (spec, base, dir)
    }

    /// Trial `i` of plan.json (`$.trials.i`).
    static func trial(_ t: JSONValue, index i: Int, spec: SweepSpec, path: String) throws(ConfigLoadError) -> PlannedTrial {
        guard case .object? = t["params"], let seed = Int(checking: t["seed"]?.doubleValue, in: 0...maxExactInteger) else {
            throw .invalid(path: path, ConfigErrors([ConfigError(path: "$.trials.\(i)", message: "expected {trial, seed, params} with an integer seed in 0…\(maxExactInteger) (2^53 − 1)")]))
        }
        let values = spec.parameters.map { t["params"]?[$0.path] ?? .null }
        // The configuration and repeat follow from the position (trial c·R + k).
        let repeats = max(1, spec.repeats)
        return PlannedTrial(index: i, seed: UInt64(seed), values: values, config: i / repeats, repeatIndex: i % repeats)
    }

    /// Reads `DIR/plan.json` for a worker that runs trial `index` alone: the header, and of the
    /// trial list only that trial, found by bisecting the one-per-line list `write` lays out, so
    /// a trial of a million-trial sweep does not parse the other 999,999. The other trials are
    /// placeholders (index, configuration and repeat right, no values, seed 0): use this plan for
    /// that trial only. A plan not laid out that way (edited, or by an older nntrain), a small
    /// one, or one where the trial is not found is read whole, as `load(directory:)`.
    public static func load(directory: String, trial index: Int, wholeBelow: Int = 4 << 20) throws(ConfigLoadError) -> SweepPlan {
        let path = directory + "/" + fileName
        guard let file = PlanFile(path), case let size = file.size, size >= wholeBelow,
              let found = try lookUp(file, size: size, trial: index, path: path) else {
            return try load(directory: directory)
        }
        return found
    }

    /// The fast path of `load(directory:trial:)`; nil where it does not apply.
    private static func lookUp(_ file: PlanFile, size: Int, trial index: Int, path: String) throws(ConfigLoadError) -> SweepPlan? {
        let marker = Array("\n  \"trials\": [\n".utf8)
        // The header: everything before the trial list (the sweep, the base config), at most 16 MB.
        var head: [UInt8] = []
        var markerAt: Int? = nil
        while markerAt == nil && head.count < Swift.min(size, 16 << 20) {
            guard let chunk = file.bytes(at: head.count, count: Swift.min(1 << 20, size - head.count)), !chunk.isEmpty else { return nil }
            let from = Swift.max(0, head.count - marker.count)
            head += chunk
            markerAt = firstIndex(of: marker, in: head, from: from)
        }
        guard let markerAt else { return nil }
        // `{ …header…,` + `}`: the header's keys without the trial list.
        guard markerAt > 0, head[markerAt - 1] == UInt8(ascii: ",") else { return nil }
        let headerJSON: JSONValue
        do { headerJSON = try JSONValue.parse(Array(head[..<(markerAt - 1)]) + Array("\n}".utf8), maxDepth: 96) } catch { return nil }
        var (spec, base, dir) = try header(headerJSON, path: path)
        let repeats = max(1, spec.repeats)
        guard let cap = Int(checking: headerJSON["run_cap"]?.doubleValue, in: 1...10_000_000),
              case let (count, overflow) = cap.multipliedReportingOverflow(by: repeats), !overflow, index < count else { return nil }
        // Bisect the lines of the trial list: line k holds trial k, in order.
        let listStart = markerAt + marker.count
        var lo = listStart, hi = size
        var entry: JSONValue? = nil
        var steps = 0
        while lo < hi && steps < 128 {
            steps += 1
            let mid = lo + (hi - lo) / 2
            guard let line = file.line(startingAtOrAfter: mid, listStart: listStart, size: size) else { return nil }
            if line.trial == nil || line.trial! > index {
                hi = mid
            } else if line.trial! < index {
                lo = line.end + 1
            } else {
                entry = line.value
                break
            }
        }
        guard let entry, Int(checking: entry["trial"]?.doubleValue) == index else { return nil }
        var trials: [PlannedTrial] = []
        trials.reserveCapacity(count)
        for i in 0..<count { trials.append(PlannedTrial(index: i, seed: 0, values: [], config: i / repeats, repeatIndex: i % repeats)) }
        trials[index] = try trial(entry, index: index, spec: spec, path: path)
        spec.runCap = cap
        return SweepPlan(spec: spec, base: base, baseDirectory: dir, trials: trials)
    }

    private static func firstIndex(of needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// plan.json's text: the header pretty-printed, then the trials one per line, in order, as
    /// the last key (`"trials": [` on a line of its own), so that a worker finds its own trial
    /// without parsing the others.
    var fileText: String {
        guard case .object(var pairs) = json, let last = pairs.popLast(), last.0 == "trials", case .array(let ts) = last.1 else {
            return json.serialized() + "\n"
        }
        var head = JSONValue.object(pairs).serialized()
        head.removeLast(2)   // "\n}"
        let lines = ts.map { "    " + $0.serialized(indent: 0) }
        return head + ",\n  \"trials\": [\n" + lines.joined(separator: ",\n") + (lines.isEmpty ? "" : "\n") + "  ]\n}\n"
    }

    /// Writes `plan.json` unless one exists; true when this call wrote it.
    public func write(directory: String) throws(FileError) -> Bool {
        try FileIO.makeDirectories(directory)
        return try FileIO.createExclusively(directory + "/" + SweepPlan.fileName, text: fileText)
    }

    /// Replaces `plan.json` (a random sweep extended by a larger run_cap).
    public func overwrite(directory: String) throws(FileError) {
        try FileIO.writeAtomically(directory + "/" + SweepPlan.fileName, text: fileText)
    }
}

/// A regular file read at offsets (`pread`): the plan lookup of one trial.
final class PlanFile {
    private let fd: Int32
    let size: Int

    /// Nil when `path` cannot be opened or is not a regular file (a FIFO is never waited on).
    init?(_ path: String) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { close(fd); return nil }
        self.fd = fd
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Up to `count` bytes at `offset` (fewer at the end), or nil on a read error.
    func bytes(at offset: Int, count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0 else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { b in pread(fd, b.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            done += n
        }
        out.removeLast(count - done)
        return out
    }

    /// The first line of a plan's trial list that starts at or after `offset`: its end (the
    /// offset of its newline), the trial it holds and its JSON; trial nil past the list's end.
    func line(startingAtOrAfter offset: Int, listStart: Int, size: Int) -> (end: Int, trial: Int?, value: JSONValue?)? {
        // A line starts at listStart or after a newline: read from the byte before `offset`.
        var start = offset
        if offset > listStart {
            guard let window = bytes(at: offset - 1, count: Swift.min(1 << 16, size - offset + 1)),
                  let nl = window.firstIndex(of: 0x0A) else { return nil }
            start = offset - 1 + nl + 1
        }
        if start >= size { return (size, nil, nil) }
        // The line itself: 64 kB, else up to 1 MB.
        var text = bytes(at: start, count: Swift.min(1 << 16, size - start)) ?? []
        if !text.contains(0x0A) { text = bytes(at: start, count: Swift.min(1 << 20, size - start)) ?? [] }
        guard let nl = text.firstIndex(of: 0x0A) else { return nil }
        var line = text[..<nl]
        while line.first == 0x20 { line = line.dropFirst() }
        if line.last == 0x2C { line = line.dropLast() }   // ","
        if line.first == 0x5D || line.first == 0x7D { return (start + nl, nil, nil) }   // "]" or "}": past the list
        guard let v = try? JSONValue.parse(Array(line), maxDepth: 64), let t = Int(checking: v["trial"]?.doubleValue, in: 0...maxExactInteger) else { return nil }
        return (start + nl, t, v)
    }
}
