import NNCore

/// SIGTERM (15 on every platform nntrain builds for).
let SIGTERM_VALUE: Int32 = 15

/// The tasks of a sweep as the ledger has them now, with successive-halving promotions.
public struct SweepStatus {
    public var plan: SweepPlan
    public var snapshot: SweepLedger.Snapshot
    /// Every task that exists so far (rung r+1 exists once rung r is decided).
    public var tasks: [SweepTask: TaskState] = [:]
    /// Rungs whose task list is known.
    public var openRungs = 1

    public init(plan: SweepPlan, ledger: SweepLedger) {
        self.plan = plan
        snapshot = ledger.snapshot()
        let rungCount = max(1, plan.rungs.count)
        var current = plan.trials.map { SweepTask(trial: $0.index, rung: 0) }
        for r in 0..<rungCount {
            openRungs = r + 1
            for t in current { tasks[t] = ledger.state(of: t, in: snapshot) }
            guard current.allSatisfy({ tasks[$0]!.isFinal }) else { break }
            if r + 1 == rungCount { isFinished = true; break }
            current = SweepStatus.promoted(from: current.map { (plan.trials[$0.trial].config, tasks[$0]!) },
                                           eta: plan.spec.eta, metric: plan.spec.metric)
                .map { SweepTask(trial: $0, rung: r + 1) }
            if current.isEmpty { isFinished = true; break }
        }
    }

    /// The trials of the best 1/eta of a finished rung's configurations (at least one), best
    /// first. A configuration scores the mean of the metric over its completed repeats (its one
    /// trial's metric when repeats is 1); ties go to the lower configuration. All completed
    /// repeats of a promoted configuration move on together; a failed repeat stops.
    static func promoted(from states: [(config: Int, state: TaskState)], eta: Int, metric: SweepMetric) -> [Int] {
        var order: [Int] = []
        var completed: [Int: [(trial: Int, metric: Double)]] = [:]
        for (c, s) in states {
            if completed[c] == nil { order.append(c); completed[c] = [] }
            if case .done(let r) = s, r.status == .completed, let m = r.metric, m.isFinite {
                completed[c, default: []].append((r.task.trial, m))
            }
        }
        let keep = max(1, order.count / eta)
        let scored = order.compactMap { c -> (config: Int, mean: Double)? in
            guard let runs = completed[c], !runs.isEmpty else { return nil }
            return (c, runs.map(\.metric).reduce(0, +) / Double(runs.count))
        }.sorted { a, b in
            a.mean != b.mean ? metric.better(a.mean, than: b.mean) : a.config < b.config
        }
        return scored.prefix(keep).flatMap { s in (completed[s.config] ?? []).map(\.trial).sorted() }
    }

    /// Whether every task is finished and no further rung can open.
    public private(set) var isFinished = false

    /// A task this process may take now, with the attempt number and whether to start over.
    public func nextClaimable(retryFailed: Bool, skip: Set<SweepTask>) -> (task: SweepTask, attempt: Int, fresh: Bool)? {
        for t in tasks.keys.sorted() where !skip.contains(t) {
            switch tasks[t]! {
            case .pending: return (t, 1, false)
            case .stale(let c): return (t, c.attempt + 1, false)
            case .done(let r) where r.status == .failed && retryFailed:
                // In a halving sweep a failure is final once the next rung has opened.
                if plan.spec.method == .halving && t.rung + 1 < openRungs { continue }
                return (t, r.attempt + 1, true)
            default: continue
            }
        }
        return nil
    }

    /// The latest result of each trial (its highest rung).
    public func latest(_ trial: Int) -> (task: SweepTask, state: TaskState)? {
        // Rung by rung, not a scan of every task: `collect` asks this for every trial.
        for r in (0..<openRungs).reversed() {
            let t = SweepTask(trial: trial, rung: r)
            if let s = tasks[t] { return (t, s) }
        }
        return nil
    }
}

// MARK: - Running one trial

/// Runs one task in this process: trains (or resumes) the trial's run directory up to the
/// task's epoch budget and returns the result to record; nil when a signal interrupted it
/// (the claim then goes stale and the next worker resumes from the checkpoint).
public enum SweepTrial {
    public static func runDirectory(_ sweepDirectory: String, trial: Int) -> String {
        sweepDirectory + "/trials/" + SweepPlan.trialName(trial)
    }

    public static func run(plan: SweepPlan, directory: String, task: SweepTask, attempt: Int, fresh: Bool,
                           threads: Int?, ledger: SweepLedger, options base: Experiment.Options) -> SweepResult? {
        let runDir = runDirectory(directory, trial: task.trial)
        let start = Clock.now()
        func failed(_ reason: String, _ code: Int32) -> SweepResult {
            SweepResult(task: task, attempt: attempt, status: .failed, metric: nil, bestEpoch: nil,
                        epochsRun: CurvesFile.rows(runDir).count, seconds: Clock.now() - start, stopReason: nil,
                        reason: reason, exitCode: code)
        }
        guard task.trial < plan.trials.count else { return failed("no trial \(task.trial) in the plan (0..<\(plan.trials.count))", 2) }
        let trial = plan.trials[task.trial]
        // Beats on a thread of its own: loading data or a long epoch sends no events, and a
        // claim without heartbeats goes stale even while its pid is alive (the pid may be reused).
        let beat = HeartbeatThread(ledger: ledger, task: task, attempt: attempt)
        defer { beat.finish() }
        let config: ExperimentConfig
        do { config = try plan.config(for: trial, runDirectory: runDir) } catch {
            return failed("invalid config: " + error.errors.map(\.description).joined(separator: "; "), 2)
        }
        var options = base
        options.outputDirectory = runDir
        options.threads = threads
        options.epochLimit = plan.spec.method == .halving ? plan.rungs[min(task.rung, plan.rungs.count - 1)] : nil
        let finished = !fresh && finishedTraining(runDir)
        var stopReason: String? = finished ? "completed" : nil
        if !finished {
            do {
                let result: Experiment.Result
                if !fresh && FileIO.exists(Checkpoint.path(in: runDir)) {
                    result = try Experiment.resume(directory: runDir, overrides: [], options: options)
                } else {
                    options.force = true
                    result = try Experiment.run(config, options: options)
                }
                stopReason = result.outcome.stopReason.rawValue
            } catch {
                switch error {
                case .interrupted: return nil
                case .diverged(let m): return failed("diverged: \(m)", error.exitCode)
                case .data(let e): return failed("data error: \(e)", error.exitCode)
                case .config(let lines): return failed(lines.joined(separator: "; "), error.exitCode)
                case .io(let m): return failed(m, error.exitCode)
                }
            }
        } else if let s = try? JSONValue.parse(FileIO.read(runDir + "/summary.json")), case .string(let r)? = s["stop_reason"] {
            stopReason = r
        }
        let rows = CurvesFile.rows(runDir)
        guard let best = CurvesFile.best(rows, metric: plan.spec.metric, upTo: options.epochLimit) else {
            return failed("no finite \(plan.spec.metric.name) in \(runDir)/curves.csv", 1)
        }
        return SweepResult(task: task, attempt: attempt, status: .completed, metric: best.value, bestEpoch: best.epoch,
                           epochsRun: min(rows.count, options.epochLimit ?? rows.count), seconds: Clock.now() - start,
                           stopReason: stopReason, reason: nil, exitCode: 0)
    }

    /// True when the run in `dir` trained to its end (its summary says completed or early_stopping).
    static func finishedTraining(_ dir: String) -> Bool {
        guard let bytes = try? FileIO.read(dir + "/summary.json"), let s = try? JSONValue.parse(bytes),
              case .string(let r)? = s["stop_reason"] else { return false }
        return r == "completed" || r == "early_stopping"
    }
}

/// Reads a run's `curves.csv`.
public enum CurvesFile {
    /// Rows as column → value (empty cells omitted).
    public static func rows(_ runDirectory: String) -> [[String: Double]] {
        guard let bytes = try? FileIO.read(runDirectory + "/curves.csv", limit: 1 << 28) else { return [] }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) else { return [] }
        var out: [[String: Double]] = []
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else { continue }
            var row: [String: Double] = [:]
            for (h, c) in zip(header, cells) {
                if c == "nan" { row[h] = .nan } else if let d = Double(c) { row[h] = d }
            }
            out.append(row)
        }
        return out
    }

    /// The best finite value of `metric` among the first `upTo` epochs, and its epoch.
    public static func best(_ rows: [[String: Double]], metric: SweepMetric, upTo: Int?) -> (value: Double, epoch: Int)? {
        var best: (Double, Int)?
        for row in rows {
            // curves.csv is a file anything may have edited: an epoch that is not a count ends the read.
            guard let epoch = Int(checking: row["epoch"] ?? 0, in: 0...maxExactInteger) else { break }
            if let limit = upTo, epoch > limit { break }
            guard let v = row[metric.name], v.isFinite else { continue }
            if best == nil || metric.better(v, than: best!.0) { best = (v, epoch) }
        }
        return best
    }
}

// MARK: - The driver: claims tasks and runs them as child processes

/// Pulls tasks from the ledger and runs each in a child `nntrain sweep trial` process, `jobs`
/// at a time, until the sweep is finished (or, for a `--worker`, until nothing is left that
/// this worker can take).
public final class SweepDriver {
    public let plan: SweepPlan
    public let directory: String
    public let ledger: SweepLedger
    public var jobs = 1
    /// BLAS threads per trial.
    public var threads = 1
    public var retryFailed = false
    /// Stop when nothing is claimable instead of waiting for other workers' trials.
    public var worker = false
    /// The nntrain binary to run trials with.
    public var executable = Runtime.executablePath
    public var onLine: (String) -> Void = { _ in }
    public var pendingSignal: () -> Int32 = { 0 }
    public var pollSeconds = 0.25

    public init(plan: SweepPlan, directory: String, ledger: SweepLedger) {
        self.plan = plan
        self.directory = directory
        self.ledger = ledger
    }

    private var reportedCount: [Int: Int] = [:]

    struct Running { var task: SweepTask; var attempt: Int; var started: Double }

    /// Runs until finished; returns the signal that stopped it (0 when none).
    public func run() -> Int32 {
        var running: [Int32: Running] = [:]
        var retried = Set<SweepTask>()
        var signal: Int32 = 0
        var reported = Set<SweepTask>()
        // Each unusable ledger record is reported once, not at every poll.
        var warned = Set<String>()
        var status = SweepStatus(plan: plan, ledger: ledger)
        for (t, s) in status.tasks { if case .done = s { reported.insert(t); reportedCount[t.rung, default: 0] += 1 } }
        while true {
            // Collect finished children.
            while let exit = ChildProcess.reap(block: false) {
                guard let r = running.removeValue(forKey: exit.pid) else { continue }
                let path = ledger.resultPath(r.task, r.attempt)
                if !FileIO.exists(path) {
                    // While the sweep is stopping, a trial that ends without a result was
                    // interrupted (its claim goes stale and the next run resumes it).
                    let interrupted = exit.code == 130 || exit.code == 143 || signal != 0 || pendingSignal() != 0
                    if interrupted {
                        ledger.release(r.task, attempt: r.attempt)
                    } else {
                        let log = SweepTrial.runDirectory(directory, trial: r.task.trial) + "/log.txt"
                        try? ledger.record(SweepResult(task: r.task, attempt: r.attempt, status: .failed, metric: nil, bestEpoch: nil,
                                                       epochsRun: CurvesFile.rows(SweepTrial.runDirectory(directory, trial: r.task.trial)).count,
                                                       seconds: Clock.now() - r.started, stopReason: nil,
                                                       reason: "the trial process ended with \(exit.description)\(SweepDriver.lastLine(log).map { ": \($0)" } ?? ""); see \(log)",
                                                       exitCode: exit.code ?? 1))
                    }
                }
            }
            if signal == 0 {
                signal = pendingSignal()
                if signal != 0 {
                    onLine("stopping: waiting for \(running.count) running trial(s) to write their checkpoints")
                    // SIGTERM, not a second SIGINT: a trial's second SIGINT would skip its checkpoint.
                    for pid in running.keys { Runtime.sendSignal(SIGTERM_VALUE, to: pid) }
                }
            }
            status = SweepStatus(plan: plan, ledger: ledger)
            for p in status.snapshot.problems where warned.insert(p).inserted { onLine("warning: \(p)") }
            for (t, s) in status.tasks.sorted(by: { $0.key < $1.key }) where !reported.contains(t) {
                if case .done(let r) = s {
                    reported.insert(t)
                    reportedCount[t.rung, default: 0] += 1
                    onLine(progressLine(r, status))
                }
            }
            if signal != 0 {
                if running.isEmpty { return signal }
                Runtime.sleep(seconds: pollSeconds)
                continue
            }
            // Start trials while there are free slots and claimable tasks.
            var skip = Set(running.values.map(\.task))
            while running.count < jobs, let next = status.nextClaimable(retryFailed: retryFailed, skip: skip.union(retried)) {
                skip.insert(next.task)
                if next.fresh { retried.insert(next.task) }
                let claim: SweepClaim?
                do { claim = try ledger.claim(next.task, attempt: next.attempt) } catch {
                    onLine("error: cannot write to \(directory)/ledger: \(error)")
                    return running.isEmpty ? 1 : 0
                }
                guard claim != nil else { continue }   // another worker was faster
                let runDir = SweepTrial.runDirectory(directory, trial: next.task.trial)
                try? FileIO.makeDirectories(runDir)
                var args = ["sweep", "trial", directory, "--index", String(next.task.trial), "--rung", String(next.task.rung),
                            "--attempt", String(next.attempt), "--threads", String(threads),
                            "--parent", String(Runtime.processID)]
                if next.fresh { args.append("--fresh") }
                do {
                    let pid = try ChildProcess.spawn(executable, args, log: runDir + "/log.txt")
                    running[pid] = Running(task: next.task, attempt: next.attempt, started: Clock.now())
                    if next.attempt > 1 {
                        onLine("trial \(SweepPlan.trialName(next.task.trial))\(plan.spec.method == .halving ? " rung \(next.task.rung)" : ""): \(next.fresh ? "retrying" : "resuming") (attempt \(next.attempt))")
                    }
                } catch {
                    try? ledger.record(SweepResult(task: next.task, attempt: next.attempt, status: .failed, metric: nil, bestEpoch: nil,
                                                   epochsRun: 0, seconds: 0, stopReason: nil, reason: error.description, exitCode: 1))
                }
            }
            if running.isEmpty {
                if status.isFinished { return 0 }
                let others = status.tasks.values.contains { if case .running = $0 { return true }; return false }
                if worker && status.nextClaimable(retryFailed: retryFailed, skip: retried) == nil
                    && (plan.spec.method != .halving || !others) {
                    return 0
                }
            }
            Runtime.sleep(seconds: pollSeconds)
        }
    }

    /// The last non-empty line of a log (what a failed trial said last).
    static func lastLine(_ path: String) -> String? {
        guard let bytes = try? FileIO.read(path, limit: 1 << 26) else { return nil }
        let text = String(decoding: bytes.suffix(4096), as: UTF8.self)
        guard let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).last(where: { !$0.allSatisfy { $0 == " " } }) else { return nil }
        return String(line.prefix(300))
    }

    func progressLine(_ r: SweepResult, _ status: SweepStatus) -> String {
        let halving = plan.spec.method == .halving
        let done = reportedCount[r.task.rung, default: 0]
        let total = status.tasks.keys.filter { $0.rung == r.task.rung }.count
        var line = halving ? "rung \(r.task.rung) (\(plan.rungs[r.task.rung]) epoch\(plan.rungs[r.task.rung] == 1 ? "" : "s")) [\(done)/\(total)]" : "[\(done)/\(total)]"
        line += " trial \(SweepPlan.trialName(r.task.trial)) "
        if plan.spec.repeats > 1 {
            let t = plan.trials[r.task.trial]
            line += "(config \(t.config), repeat \(t.repeatIndex)) "
        }
        line += SweepReport.describe(plan.trials[r.task.trial], plan.spec.parameters)
        if r.status == .completed, let m = r.metric {
            line += "  \(plan.spec.metric.name) \(formatSignificant(m, 4)) (epoch \(r.bestEpoch ?? 0))"
        } else {
            line += "  FAILED: \(r.reason ?? "unknown")"
        }
        let sameRung = status.tasks.compactMap { k, s -> SweepResult? in
            if k.rung == r.task.rung, case .done(let x) = s, x.status == .completed, x.metric != nil { return x }
            return nil
        }
        if plan.spec.repeats > 1 {
            // The best configuration so far by its mean over the repeats finished at this rung.
            var byConfig: [Int: [Double]] = [:]
            for x in sameRung { byConfig[plan.trials[x.task.trial].config, default: []].append(x.metric!) }
            let means = byConfig.map { (config: $0.key, mean: $0.value.reduce(0, +) / Double($0.value.count), n: $0.value.count) }
            if let best = means.min(by: { plan.spec.metric.better($0.mean, than: $1.mean) || ($0.mean == $1.mean && $0.config < $1.config) }) {
                line += "  best mean \(formatSignificant(best.mean, 4)) (config \(best.config), \(best.n)/\(plan.spec.repeats))"
            }
        } else if let best = sameRung.min(by: { plan.spec.metric.better($0.metric!, than: $1.metric!) || ($0.metric! == $1.metric! && $0.task.trial < $1.task.trial) }) {
            line += "  best \(formatSignificant(best.metric!, 4)) (trial \(SweepPlan.trialName(best.task.trial)))"
        }
        line += "  \(formatSignificant(r.seconds, 3)) s"
        return line
    }
}
