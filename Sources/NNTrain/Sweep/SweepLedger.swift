import Dispatch
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
              case .string(let h)? = j["host"], let p = ledgerPID(j["pid"]),
              let time = ledgerTime(j["time"]) else { return nil }
        self.init(task: SweepTask(trial: t, rung: r), attempt: a, host: h, pid: p, time: time)
    }

    /// The claim of an attempt whose file exists but cannot be read: no host, no pid, time 0, so
    /// it is stale unless a heartbeat shows its process alive, and the next attempt numbers past it.
    static func unreadable(_ task: SweepTask, attempt: Int) -> SweepClaim {
        SweepClaim(task: task, attempt: attempt, host: "", pid: 0, time: 0)
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
        // A metric or a time that is not a finite number was not written by nntrain (it writes null).
        if let m = j["metric"], m != .null, !(m.doubleValue?.isFinite ?? false) { return nil }
        if let sec = j["seconds"], sec != .null, !(sec.doubleValue.map { $0.isFinite && $0 >= 0 } ?? false) { return nil }
        self.init(task: SweepTask(trial: t, rung: r), attempt: a, status: status, metric: j["metric"]?.doubleValue,
                  bestEpoch: ledgerInt(j["best_epoch"]), epochsRun: ledgerInt(j["epochs_run"]) ?? 0,
                  seconds: j["seconds"]?.doubleValue ?? 0, stopReason: j["stop_reason"]?.stringValue, reason: j["reason"]?.stringValue,
                  exitCode: Int32(ledgerInt(j["exit_code"], max: 255) ?? 0))
    }
}

/// A whole number in 0...max from a ledger file (which anything may have edited), else nil.
func ledgerInt(_ v: JSONValue?, max: Int = 1 << 40) -> Int? {
    Int(checking: v?.doubleValue, in: 0...max)
}

/// A process id from a ledger file: 1…2^31 − 1 (0 and −1 would name a process group, or all).
func ledgerPID(_ v: JSONValue?) -> Int32? {
    Int(checking: v?.doubleValue, in: 1...Int(Int32.max)).map { Int32(truncatingIfNeeded: $0) }
}

/// A wall-clock time (seconds since 1970) from a ledger or heartbeat file: finite, not negative
/// and at most a day ahead of this host's clock (clocks of hosts differ a little, not by days;
/// a time far ahead would keep a claim alive for as long), else nil.
func ledgerTime(_ v: JSONValue?) -> Double? {
    guard let t = v?.doubleValue, t.isFinite, t >= 0, t <= Runtime.wallTime() + 86_400 else { return nil }
    return t
}

/// A ledger file name split into its task and attempt: `claim-0003-r1-a2.json` →
/// ("claim", trial 3, rung 1, attempt 2); heartbeats have neither prefix nor extension
/// (`0003-r1-a2`). Nil for any other name.
func ledgerFileName(_ name: String, prefix: String, suffix: String) -> (task: SweepTask, attempt: Int)? {
    guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count else { return nil }
    let parts = name.dropFirst(prefix.count).dropLast(suffix.count).split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[1].first == "r", parts[2].first == "a",
          parts.allSatisfy({ p in p.count <= 14 && p.drop(while: { $0 == "r" || $0 == "a" }).allSatisfy { $0 >= "0" && $0 <= "9" } }),
          let t = Int(parts[0]), let r = Int(parts[1].dropFirst()), let a = Int(parts[2].dropFirst()),
          t <= 1 << 40, r <= 1 << 40, a <= 1 << 40, a >= 1 else { return nil }
    let task = SweepTask(trial: t, rung: r)
    // Only the name nntrain writes: `0003`, not `3` or `00003` for a trial below 10,000.
    guard "\(prefix)\(task.fileStem)-a\(a)\(suffix)" == name else { return nil }
    return (task, a)
}

/// A running attempt's sign of life: its host, pid and the time of its last heartbeat.
public struct SweepHeartbeat: Sendable, Equatable {
    public var host: String
    public var pid: Int32
    public var time: Double

    init?(_ j: JSONValue) {
        guard case .string(let h)? = j["host"], let p = ledgerPID(j["pid"]),
              let t = ledgerTime(j["time"]) else { return nil }
        host = h; pid = p; time = t
    }
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

    /// Seconds between the heartbeats of a running attempt.
    public static let heartbeatPeriod = 10.0

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
        public var heartbeats: [String: SweepHeartbeat] = [:]
        /// Attempts given up by their process (interrupted by a signal, checkpoint written).
        public var released: Set<String> = []
        /// Records that could not be used, one line each naming the file and why (skipped:
        /// a claim counts as an attempt whose process is gone, a result as not written).
        public var problems: [String] = []
    }

    /// Reads every record. A record that cannot be read — unreadable, over its size limit, not
    /// JSON, a field missing or out of range, or content that does not match its file name — is
    /// skipped and listed in `problems`; it never stops the sweep.
    /// `trial`: only that trial's records (a worker that runs one trial of a large sweep reads
    /// its own few files, not every record).
    public func snapshot(trial: Int? = nil) -> Snapshot {
        var s = Snapshot()
        var unusable: [SweepTask: Int] = [:]
        func skip(_ path: String, _ why: String) { s.problems.append("\(path): skipped: \(why)") }
        func json(_ path: String, limit: Int) -> JSONValue? {
            // A FIFO would block the read forever, a device never end: regular files only.
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { skip(path, "not a regular file"); return nil }
            let bytes: [UInt8]
            do { bytes = try FileIO.read(path, limit: limit) } catch { skip(path, error.reason); return nil }
            do { return try JSONValue.parse(bytes, maxDepth: 8) } catch { skip(path, "not JSON (\(error))"); return nil }
        }
        for name in FileIO.listDirectory(ledgerDirectory) where name.hasSuffix(".json") && !name.contains(".new-") && !name.contains(".tmp-") {
            let path = ledgerDirectory + "/" + name
            if let trial, !name.hasPrefix("claim-\(SweepPlan.trialName(trial))-") && !name.hasPrefix("result-\(SweepPlan.trialName(trial))-")
                && !name.hasPrefix("release-\(SweepPlan.trialName(trial))-") { continue }
            if let (task, attempt) = ledgerFileName(name, prefix: "claim-", suffix: ".json") {
                var c = SweepClaim.unreadable(task, attempt: attempt)
                if let j = json(path, limit: 1 << 16) {
                    if let read = SweepClaim(j), read.task == task, read.attempt == attempt {
                        c = read
                    } else {
                        skip(path, SweepClaim(j) == nil ? "not a claim (expected trial, rung, attempt, host, pid in 1…2^31−1, time)"
                                                        : "its trial, rung or attempt differ from its file name")
                    }
                }
                if let old = s.claims[c.task], old.attempt >= c.attempt { continue }
                s.claims[c.task] = c
            } else if let (task, attempt) = ledgerFileName(name, prefix: "release-", suffix: ".json") {
                s.released.insert("\(task.fileStem)-a\(attempt)")
            } else if let (task, attempt) = ledgerFileName(name, prefix: "result-", suffix: ".json") {
                guard let j = json(path, limit: 1 << 20) else { unusable[task] = max(unusable[task] ?? 0, attempt); continue }
                guard let r = SweepResult(j), r.task == task, r.attempt == attempt else {
                    skip(path, SweepResult(j) == nil ? "not a result (expected trial, rung, attempt, status completed or failed, finite metric and seconds)"
                                                     : "its trial, rung or attempt differ from its file name")
                    unusable[task] = max(unusable[task] ?? 0, attempt)
                    continue
                }
                s.results[r.task, default: [:]][r.attempt] = r
            }
        }
        // An unusable result still takes its attempt's number (its file exists, so a new record
        // of that attempt could not be created): the task goes on with the next attempt.
        for (task, attempt) in unusable where (s.claims[task]?.attempt ?? 0) < attempt {
            s.claims[task] = SweepClaim.unreadable(task, attempt: attempt)
        }
        for name in FileIO.listDirectory(heartbeatDirectory) where !name.contains(".new-") && !name.contains(".tmp-") {
            guard let (task, _) = ledgerFileName(name, prefix: "", suffix: ""), trial == nil || task.trial == trial else { continue }
            let path = heartbeatDirectory + "/" + name
            guard let j = json(path, limit: 4096) else { continue }
            guard let hb = SweepHeartbeat(j) else {
                skip(path, "not a heartbeat (expected host, pid in 1…2^31−1, time)")
                continue
            }
            s.heartbeats[name] = hb
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

    /// Whether the process behind a claim may still be working: it was heard from (claimed or
    /// beat) within `staleAfter` seconds and, on this host, its pid is alive. A live pid alone
    /// is not enough: after the process died the pid may belong to another one.
    func isAlive(_ c: SweepClaim, heartbeat: SweepHeartbeat?) -> Bool {
        let last = max(c.time, heartbeat?.time ?? 0)
        guard Runtime.wallTime() - last < staleAfter else { return false }
        if c.host == Runtime.hostName {
            if Runtime.isAlive(c.pid) { return true }
            if let hb = heartbeat, hb.host == c.host, Runtime.isAlive(hb.pid) { return true }
            return false
        }
        return true
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
        SweepLedger.beat(heartbeatPath(task, attempt), folder: heartbeatDirectory)
    }

    static func beat(_ path: String, folder: String) {
        let j = JSONValue.object([("host", .string(Runtime.hostName)), ("pid", .number(Double(Runtime.processID))),
                                  ("time", .number(Runtime.wallTime()))])
        try? FileIO.makeDirectories(folder)
        try? FileIO.writeAtomically(path, text: j.serialized(indent: 0) + "\n")
    }
}

/// Rewrites an attempt's heartbeat file at once and then every `period` seconds, on a thread of
/// its own, until `finish()`: the trial process is heard from whatever its training is doing.
final class HeartbeatThread: @unchecked Sendable {
    private let path: String
    private let folder: String
    private let period: Double
    private let stop = DispatchSemaphore(value: 0)
    private var thread = pthread_t()
    private var started = false

    init(ledger: SweepLedger, task: SweepTask, attempt: Int, period: Double = SweepLedger.heartbeatPeriod) {
        path = ledger.heartbeatPath(task, attempt)
        folder = ledger.heartbeatDirectory
        self.period = period
        SweepLedger.beat(path, folder: folder)
        let context = Unmanaged.passRetained(self)
        started = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let me = Unmanaged<HeartbeatThread>.fromOpaque(raw).takeRetainedValue()
            while me.stop.wait(timeout: .now() + me.period) == .timedOut { SweepLedger.beat(me.path, folder: me.folder) }
            return nil
        }, context.toOpaque()) == 0
        if !started { context.release() }
    }

    /// Stops the beats (the last heartbeat file stays; the result or release record says the rest).
    func finish() {
        guard started else { return }
        started = false
        stop.signal()
        pthread_join(thread, nil)
    }
}
