import NNCore

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
            // In a halving sweep a failure is final once the next rung has opened.
            let closed = plan.spec.method == .halving && t.rung + 1 < openRungs
            if let c = tasks[t]!.claim(retryFailed: retryFailed && !closed) { return (t, c.attempt, c.fresh) }
        }
        return nil
    }

    /// What `nntrain sweep trial DIR --index I` takes of trial `index` (at `rung`, else its
    /// first claimable rung): the task with its attempt and whether to start over, or nil and
    /// a note saying why nothing is to be done; and the ledger's problems to warn about.
    public static func claimable(trial index: Int, rung: Int?, plan: SweepPlan, ledger: SweepLedger,
                                 retryFailed: Bool) -> (pick: (task: SweepTask, attempt: Int, fresh: Bool)?, note: String, problems: [String]) {
        let mine: [(key: SweepTask, value: TaskState)]
        let problems: [String]
        if plan.spec.method == .halving {
            // Which rungs are open depends on every trial's results.
            let status = SweepStatus(plan: plan, ledger: ledger)
            problems = status.snapshot.problems
            mine = status.tasks.filter { $0.key.trial == index && (rung == nil || $0.key.rung == rung) }.sorted { $0.key < $1.key }
        } else {
            // One rung: this trial's own ledger records are all it needs.
            let snapshot = ledger.snapshot(trial: index)
            problems = snapshot.problems
            let t = SweepTask(trial: index, rung: 0)
            mine = (rung ?? 0) == 0 ? [(t, ledger.state(of: t, in: snapshot))] : []
        }
        var note = "trial \(index) has no task open yet"
        for (t, s) in mine {
            if let c = s.claim(retryFailed: retryFailed) { return ((t, c.attempt, c.fresh), note, problems) }
            switch s {
            case .running(let c): note = "trial \(index) is running (host \(c.host), pid \(c.pid))"
            case .done(let r):
                note = "trial \(index) already \(r.status.rawValue)" + (r.reason.map { ": \($0)" } ?? "") + (r.status == .failed ? " (--retry-failed runs it again)" : "")
            default: break
            }
        }
        return (nil, note, problems)
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

extension TaskState {
    /// The claim a worker may make on a task in this state: a pending task starts as attempt 1,
    /// a stale one resumes from its checkpoint as the next attempt, and a failed one starts
    /// over as the next attempt when `retryFailed`; nil for a running or finished task.
    public func claim(retryFailed: Bool) -> (attempt: Int, fresh: Bool)? {
        switch self {
        case .pending: return (1, false)
        case .stale(let c): return (c.attempt + 1, false)
        case .done(let r) where r.status == .failed && retryFailed: return (r.attempt + 1, true)
        default: return nil
        }
    }
}
