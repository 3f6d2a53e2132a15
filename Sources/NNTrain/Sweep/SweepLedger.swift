import NNCore

/// A unit of sweep work: one trial trained up to one rung's budget (rung 0 for random/grid).
public struct SweepTask: Hashable, Sendable, Comparable {
    public var trial: Int
    public var rung: Int
    public init(trial: Int, rung: Int) { self.trial = trial; self.rung = rung }
    public static func < (a: SweepTask, b: SweepTask) -> Bool { (a.rung, a.trial) < (b.rung, b.trial) }
    var fileStem: String { "\(SweepPlan.trialName(trial))-r\(rung)" }
}

/// "This process works on this task": written once, never changed.
public struct SweepClaim: Sendable, Equatable {
    public var task: SweepTask
    public var attempt: Int
    public var host: String
    public var pid: Int32
    public var time: Double

    var json: JSONValue {
        .object([("trial", .number(Double(task.trial))), ("rung", .number(Double(task.rung))), ("attempt", .number(Double(attempt))),
                 ("host", .string(host)), ("pid", .number(Double(pid))), ("time", .number(time))])
    }

    init(task: SweepTask, attempt: Int, host: String, pid: Int32, time: Double) {
        self.task = task; self.attempt = attempt; self.host = host; self.pid = pid; self.time = time
    }

    init?(_ j: JSONValue) {
        guard let t = ledgerInt(j["trial"]), let r = ledgerInt(j["rung"]), let a = ledgerInt(j["attempt"]),
              case .string(let h)? = j["host"], let p = ledgerInt(j["pid"], max: Int(Int32.max)), let time = j["time"]?.doubleValue else { return nil }
        self.init(task: SweepTask(trial: t, rung: r), attempt: a, host: h, pid: Int32(p), time: time)
    }
}

/// How one attempt at a task ended: written once by the process that ran it.
public struct SweepResult: Sendable, Equatable {
    public enum Status: String, Sendable { case completed, failed }
    public var task: SweepTask
    public var attempt: Int
    public var status: Status
    /// The metric at its best epoch so far, and that epoch.
    public var metric: Double?
    public var bestEpoch: Int?
    public var epochsRun: Int
    public var seconds: Double
    /// summary.json's stop_reason (`paused` at a halving rung below max_epochs).
    public var stopReason: String?
    public var reason: String?
    public var exitCode: Int32

    public init(task: SweepTask, attempt: Int, status: Status, metric: Double?, bestEpoch: Int?, epochsRun: Int,
                seconds: Double, stopReason: String?, reason: String?, exitCode: Int32) {
        self.task = task; self.attempt = attempt; self.status = status; self.metric = metric; self.bestEpoch = bestEpoch
        self.epochsRun = epochsRun; self.seconds = seconds; self.stopReason = stopReason; self.reason = reason; self.exitCode = exitCode
    }

    var json: JSONValue {
        func num(_ d: Double?) -> JSONValue { d.map { $0.isFinite ? .number($0) : .null } ?? .null }
        return .object([
            ("trial", .number(Double(task.trial))), ("rung", .number(Double(task.rung))), ("attempt", .number(Double(attempt))),
            ("status", .string(status.rawValue)), ("metric", num(metric)), ("best_epoch", bestEpoch.map { .number(Double($0)) } ?? .null),
            ("epochs_run", .number(Double(epochsRun))), ("seconds", .number((seconds * 1000).rounded() / 1000)),
            ("stop_reason", stopReason.map { .string($0) } ?? .null), ("reason", reason.map { .string($0) } ?? .null),
            ("exit_code", .number(Double(exitCode))), ("host", .string(Runtime.hostName)),
        ])
    }

    init?(_ j: JSONValue) {
        guard let t = ledgerInt(j["trial"]), let r = ledgerInt(j["rung"]), let a = ledgerInt(j["attempt"]),
              case .string(let s)? = j["status"], let status = Status(rawValue: s) else { return nil }
        self.init(task: SweepTask(trial: t, rung: r), attempt: a, status: status, metric: j["metric"]?.doubleValue,
                  bestEpoch: ledgerInt(j["best_epoch"]), epochsRun: ledgerInt(j["epochs_run"]) ?? 0,
                  seconds: j["seconds"]?.doubleValue ?? 0, stopReason: j["stop_reason"]?.stringValue, reason: j["reason"]?.stringValue,
                  exitCode: Int32(ledgerInt(j["exit_code"], max: 255) ?? 0))
    }
}

/// A whole number in 0...max from a ledger file (which anything may have edited), else nil.
func ledgerInt(_ v: JSONValue?, max: Int = 1 << 40) -> Int? {
    guard let d = v?.doubleValue, d.isFinite, d == d.rounded(), d >= 0, d <= Double(max) else { return nil }
    return Int(d)
}

/// Where a task stands, read from the ledger.
public enum TaskState: Sendable, Equatable {
    case pending
    /// Claimed by a process that is alive (or was heard from recently).
    case running(SweepClaim)
    /// Claimed by a process that died without a result: resumable from its checkpoint.
    case stale(SweepClaim)
    case done(SweepResult)

    public var isFinal: Bool { if case .done = self { return true }; return false }
}

/// The sweep's state as an append-only ledger of small files in `DIR/ledger/`: a claim file
/// per attempt (`claim-0003-r0-a1.json`) and a result file per finished attempt
/// (`result-0003-r0-a1.json`), each created once with a hard link (atomic, also on NFS) and
/// never changed; `DIR/heartbeats/` holds the files running trials touch. Any number of
/// workers on any number of machines can share the directory without a database.
public final class SweepLedger {
    public let directory: String
    /// A claim with no result and no sign of life for this long is stale (other hosts; on this
    /// host a dead pid is enough).
    public var staleAfter: Double

    public init(directory: String, staleAfter: Double = 300) {
        self.directory = directory
        self.staleAfter = staleAfter
    }

    var ledgerDirectory: String { directory + "/ledger" }
    var heartbeatDirectory: String { directory + "/heartbeats" }

    func claimPath(_ t: SweepTask, _ attempt: Int) -> String { "\(ledgerDirectory)/claim-\(t.fileStem)-a\(attempt).json" }
    func resultPath(_ t: SweepTask, _ attempt: Int) -> String { "\(ledgerDirectory)/result-\(t.fileStem)-a\(attempt).json" }
    func releasePath(_ t: SweepTask, _ attempt: Int) -> String { "\(ledgerDirectory)/release-\(t.fileStem)-a\(attempt).json" }
    func heartbeatPath(_ t: SweepTask, _ attempt: Int) -> String { "\(heartbeatDirectory)/\(t.fileStem)-a\(attempt)" }

    /// Everything in the ledger: the latest claim per task and every result.
    public struct Snapshot {
        public var claims: [SweepTask: SweepClaim] = [:]
        public var results: [SweepTask: [Int: SweepResult]] = [:]
        public var heartbeats: [String: (host: String, pid: Int32, time: Double)] = [:]
        /// Attempts given up by their process (interrupted by a signal, checkpoint written).
        public var released: Set<String> = []
    }

    public func snapshot() -> Snapshot {
        var s = Snapshot()
        for name in FileIO.listDirectory(ledgerDirectory) where name.hasSuffix(".json") && !name.contains(".new-") && !name.contains(".tmp-") {
            guard let bytes = try? FileIO.read(ledgerDirectory + "/" + name, limit: 1 << 20),
                  let j = try? JSONValue.parse(bytes) else { continue }
            if name.hasPrefix("claim-"), let c = SweepClaim(j) {
                if let old = s.claims[c.task], old.attempt >= c.attempt { continue }
                s.claims[c.task] = c
            } else if name.hasPrefix("release-") {
                s.released.insert(String(name.dropFirst(8).dropLast(5)))
            } else if name.hasPrefix("result-"), let r = SweepResult(j) {
                s.results[r.task, default: [:]][r.attempt] = r
            }
        }
        for name in FileIO.listDirectory(heartbeatDirectory) where !name.contains(".new-") && !name.contains(".tmp-") {
            guard let bytes = try? FileIO.read(heartbeatDirectory + "/" + name, limit: 4096),
                  let j = try? JSONValue.parse(bytes), case .string(let h)? = j["host"],
                  let p = j["pid"]?.doubleValue, let t = j["time"]?.doubleValue else { continue }
            s.heartbeats[name] = (h, Int32(p), t)
        }
        return s
    }

    /// The state of `task` in `s`.
    public func state(of task: SweepTask, in s: Snapshot) -> TaskState {
        guard let claim = s.claims[task] else {
            // A result without a claim (written by a driver for a vanished process) still counts.
            if let r = s.results[task]?.max(by: { $0.key < $1.key })?.value { return .done(r) }
            return .pending
        }
        if let r = s.results[task]?[claim.attempt] { return .done(r) }
        if s.released.contains("\(task.fileStem)-a\(claim.attempt)") { return .stale(claim) }
        return isAlive(claim, heartbeat: s.heartbeats["\(task.fileStem)-a\(claim.attempt)"]) ? .running(claim) : .stale(claim)
    }

    /// Whether the process behind a claim may still be working.
    func isAlive(_ c: SweepClaim, heartbeat: (host: String, pid: Int32, time: Double)?) -> Bool {
        if c.host == Runtime.hostName {
            if Runtime.isAlive(c.pid) { return true }
            if let hb = heartbeat, hb.host == c.host, Runtime.isAlive(hb.pid) { return true }
            return false
        }
        let last = max(c.time, heartbeat?.time ?? 0)
        return Runtime.wallTime() - last < staleAfter
    }

    /// Claims `task` as attempt `attempt`; false when another process claimed it first.
    public func claim(_ task: SweepTask, attempt: Int, pid: Int32 = Runtime.processID) throws(FileError) -> SweepClaim? {
        try FileIO.makeDirectories(ledgerDirectory)
        let c = SweepClaim(task: task, attempt: attempt, host: Runtime.hostName, pid: pid, time: Runtime.wallTime())
        return try FileIO.createExclusively(claimPath(task, attempt), text: c.json.serialized(indent: 0) + "\n") ? c : nil
    }

    /// Records how an attempt ended (once; a second record of the same attempt is ignored).
    public func record(_ r: SweepResult) throws(FileError) {
        try FileIO.makeDirectories(ledgerDirectory)
        _ = try FileIO.createExclusively(resultPath(r.task, r.attempt), text: r.json.serialized(indent: 0) + "\n")
    }

    /// Gives an attempt up (its process was interrupted after writing a checkpoint), so the next
    /// worker on any host resumes it at once instead of waiting for the claim to go stale.
    public func release(_ task: SweepTask, attempt: Int) {
        let j = JSONValue.object([("host", .string(Runtime.hostName)), ("pid", .number(Double(Runtime.processID))),
                                  ("time", .number(Runtime.wallTime()))])
        _ = try? FileIO.createExclusively(releasePath(task, attempt), text: j.serialized(indent: 0) + "\n")
    }

    /// Tells other workers that this attempt is alive.
    public func heartbeat(_ task: SweepTask, attempt: Int) {
        let j = JSONValue.object([("host", .string(Runtime.hostName)), ("pid", .number(Double(Runtime.processID))),
                                  ("time", .number(Runtime.wallTime()))])
        try? FileIO.makeDirectories(heartbeatDirectory)
        try? FileIO.writeAtomically(heartbeatPath(task, attempt), text: j.serialized(indent: 0) + "\n")
    }
}
