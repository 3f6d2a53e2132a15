import NNCore

/// Pulls tasks from the ledger and starts each through its `launcher` (the CLI's runs a child
/// `nntrain sweep trial` process), `jobs` at a time, until the sweep is finished (or, for a
/// `--worker`, until nothing is left that this worker can take).
public final class SweepDriver {
    public let plan: SweepPlan
    public let directory: String
    public let ledger: SweepLedger
    /// Starts the trials and reports how they end.
    public let launcher: any TrialLauncher
    public var jobs = 1
    /// BLAS threads per trial.
    public var threads = 1
    public var retryFailed = false
    /// Stop when nothing is claimable instead of waiting for other workers' trials.
    public var worker = false
    public var onLine: (String) -> Void = { _ in }
    public var pendingSignal: () -> Int32 = { 0 }
    public var pollSeconds = 0.25

    public init(plan: SweepPlan, directory: String, ledger: SweepLedger, launcher: any TrialLauncher) {
        self.plan = plan
        self.directory = directory
        self.ledger = ledger
        self.launcher = launcher
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
            // Collect finished trials.
            while let exit = launcher.nextExit() {
                guard let r = running.removeValue(forKey: exit.handle) else { continue }
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
                    // Each trial stops after its checkpoint (see `TrialLauncher.stop`).
                    for handle in running.keys { launcher.stop(handle) }
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
                do {
                    let handle = try launcher.start(TrialStart(directory: directory, task: next.task, attempt: next.attempt,
                                                               threads: threads, fresh: next.fresh, log: runDir + "/log.txt"))
                    running[handle] = Running(task: next.task, attempt: next.attempt, started: Clock.now())
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
