import NNCore
import NNTrain

/// `nntrain sweep …`: run a sweep, or its `plan`, `trial` and `collect` steps.
func sweepCommand(_ args: ArraySlice<String>) -> Int32 {
    switch args.first {
    case "plan"?: return sweepPlanCommand(args.dropFirst())
    case "trial"?: return sweepTrialCommand(args.dropFirst())
    case "collect"?: return sweepCollectCommand(args.dropFirst())
    default: return sweepRunCommand(args)
    }
}

private let specOptions = ["--param", "--trials", "--method", "--metric", "--seed", "--name", "--min-epochs", "--max-epochs", "--eta",
                           "--repeats"]

/// Reads the sweep options shared by `sweep` and `sweep plan`.
private func overrides(_ p: Arguments, command: String) throws(UsageError) -> SweepOverrides {
    var o = SweepOverrides()
    o.params = p.all("--param")
    o.trials = try p.int("--trials", range: 1...1_000_000, command: command)
    o.method = p.value("--method")
    o.metric = p.value("--metric")
    o.seed = try p.int("--seed", range: 0...maxExactInteger, command: command)
    o.name = p.value("--name")
    o.minEpochs = try p.int("--min-epochs", range: 1...1_000_000, command: command)
    o.maxEpochs = try p.int("--max-epochs", range: 1...1_000_000, command: command)
    o.eta = try p.int("--eta", range: 2...100, command: command)
    o.repeats = try p.int("--repeats", range: 1...1000, command: command)
    return o
}

/// The plan for `target` (a sweep file, or a config with --param) and its directory.
private func planFor(_ target: String, _ o: SweepOverrides, out: String?, quiet: Bool) -> (SweepPlan, String)? {
    do {
        let plan = try SweepLoader.plan(path: target, overrides: o)
        for w in plan.spec.warnings where !quiet { printError("warning: \(target): \(w)") }
        if out?.isEmpty == true { printError("error: --out: an empty path is not a directory; give the sweep directory"); return nil }
        return (plan, out ?? "sweeps/\(plan.spec.name)")
    } catch {
        for line in error.lines { printError(line) }
        return nil
    }
}

/// Writes `plan` into `dir`, or checks it against the plan already there. Returns the plan in force.
private func establish(_ plan: SweepPlan, in dir: String, quiet: Bool) -> SweepPlan? {
    do {
        if try plan.write(directory: dir) { return plan }
        let existing = try SweepPlan.load(directory: dir)
        let (chosen, extended) = try SweepLoader.reconcile(plan, with: existing, directory: dir)
        if extended {
            try chosen.overwrite(directory: dir)
            if !quiet { printError("\(dir): run_cap \(existing.configurationCount) → \(chosen.configurationCount); the first \(existing.trials.count) trials are unchanged") }
        }
        return chosen
    } catch let e as SweepLoadError {
        for line in e.lines { printError(line) }
    } catch let e as ConfigLoadError {
        for line in e.lines { printError(line) }
    } catch {
        printError("error: cannot write the sweep directory: \(error)")
        return nil
    }
    return nil
}

private func loadPlan(_ dir: String, trial: Int? = nil) -> SweepPlan? {
    do {
        if let trial { return try SweepPlan.load(directory: dir, trial: trial) }
        return try SweepPlan.load(directory: dir)
    } catch {
        if case .file = error, !FileIO.exists(dir + "/" + SweepPlan.fileName) {
            printError("error: \(dir) holds no sweep (no \(SweepPlan.fileName)); start one with `nntrain sweep SWEEP.json` or `nntrain sweep plan SWEEP.json --out \(dir)`")
        } else {
            for line in error.lines { printError(line) }
        }
        return nil
    }
}

/// `nntrain sweep SWEEP|CONFIG|DIR [options]`.
private func sweepRunCommand(_ args: ArraySlice<String>) -> Int32 {
    let p: Arguments
    let o: SweepOverrides
    let jobsOption: Int?, threadsOption: Int?, staleAfter: Int?
    do {
        p = try Arguments(args, command: "sweep", valued: specOptions + ["--out", "--jobs", "--threads", "--stale-after"],
                          boolean: ["--retry-failed", "--worker", "--json", "--quiet", "--help", "-h"])
        o = try overrides(p, command: "sweep")
        jobsOption = try p.int("--jobs", range: 1...1024, command: "sweep")
        threadsOption = try p.int("--threads", range: 1...1024, command: "sweep")
        staleAfter = try p.int("--stale-after", range: 1...86_400 * 7, command: "sweep")
    } catch {
        return usage(error)
    }
    if p.has("--help") || p.has("-h") { printOut(Help.sweep); return 0 }
    guard p.positionals.count == 1 else {
        return usage(UsageError(message: p.positionals.isEmpty ? "missing SWEEP (a sweep file, a config with --param, or a sweep directory)" : "expected one SWEEP, got \(p.positionals.count) arguments", command: "sweep"))
    }
    let target = p.positionals[0]
    let quiet = p.has("--quiet")
    let plan: SweepPlan
    let dir: String
    if FileIO.isDirectory(target) {
        guard o.isEmpty, p.value("--out") == nil else {
            return usage(UsageError(message: "\(target) is a sweep directory: it continues with its own plan; give no --param/--trials/--repeats/--out", command: "sweep"))
        }
        guard let existing = loadPlan(target) else { return 2 }
        plan = existing
        dir = target
    } else {
        guard let (fresh, d) = planFor(target, o, out: p.value("--out"), quiet: quiet),
              let chosen = establish(fresh, in: d, quiet: quiet) else { return 2 }
        plan = chosen
        dir = d
    }
    let jobs = jobsOption ?? plan.spec.jobs
    let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    let threads = threadsOption ?? max(1, cores / jobs)
    if jobs * threads > cores && !quiet {
        printError("warning: \(jobs) jobs × \(threads) BLAS threads on \(cores) cores oversubscribe the CPU (processes that share cores slow down several times)")
    }
    let ledger = SweepLedger(directory: dir, staleAfter: Double(staleAfter ?? 300))
    let driver = SweepDriver(plan: plan, directory: dir, ledger: ledger, launcher: TrialProcesses())
    driver.jobs = jobs
    driver.threads = threads
    driver.retryFailed = p.has("--retry-failed")
    driver.worker = p.has("--worker")
    driver.onLine = { if !quiet { printError($0) } }
    Runtime.installSignalFlag()
    driver.pendingSignal = { Runtime.pendingSignal }
    if !quiet {
        var head = "sweep \(plan.spec.name): \(plan.spec.method.rawValue), \(plan.trials.count) trials"
        if plan.spec.repeats > 1 { head += " (\(plan.configurationCount) configurations × \(plan.spec.repeats) repeats)" }
        if plan.spec.method == .halving { head += " at rung 0, rungs of \(plan.rungs.map(String.init).joined(separator: "/")) epochs, eta \(plan.spec.eta)" }
        head += ", \(plan.spec.metric.goal) \(plan.spec.metric.name); \(jobs) job\(jobs == 1 ? "" : "s") × \(threads) thread\(threads == 1 ? "" : "s") → \(dir)/"
        printError(head)
    }
    let signal = driver.run()
    let report = SweepReport.collect(plan: plan, directory: dir, ledger: ledger)
    do { try report.write(directory: dir) } catch {
        printError("error: cannot write results: \(error)")
        return 1
    }
    if signal != 0 {
        printError("interrupted by signal \(signal): finished trials are kept, running ones checkpointed; continue with: nntrain sweep \(dir)")
        return 128 + signal
    }
    return finishReport(report, dir: dir, json: p.has("--json"), quiet: quiet, worker: p.has("--worker"))
}

/// Prints the leaderboard (or JSON) and the boundary warnings; the exit code of the sweep.
private func finishReport(_ report: SweepReport, dir: String, json: Bool, quiet: Bool, worker: Bool) -> Int32 {
    if json {
        printOut(report.json.serialized())
    } else if !quiet {
        printOut(report.table())
    }
    if !quiet {
        for w in report.warnings { printError("warning: \(w)") }
        if report.best != nil {
            let files = report.repeats > 1 ? "\(dir)/trials.csv, \(dir)/configs.csv" : "\(dir)/trials.csv"
            printError("results: \(files), best config: \(dir)/best.json (nntrain run \(dir)/best.json)")
        } else {
            printError("results: \(dir)/trials.csv")
        }
        if !report.finished && !worker { printError("\(report.rows.count - report.completedCount - report.failedCount) trials not finished") }
    }
    if let code = report.allFailedExitCode(ledger: SweepLedger(directory: dir)) {
        if !quiet { printError("error: every trial failed; see the reason column of \(dir)/trials.csv") }
        return code
    }
    return 0
}

/// `nntrain sweep plan SWEEP|CONFIG [--param …] --out DIR`.
private func sweepPlanCommand(_ args: ArraySlice<String>) -> Int32 {
    let p: Arguments
    let o: SweepOverrides
    do {
        p = try Arguments(args, command: "sweep", valued: specOptions + ["--out"], boolean: ["--quiet", "--json", "--help", "-h"])
        o = try overrides(p, command: "sweep")
    } catch {
        return usage(error)
    }
    if p.has("--help") || p.has("-h") { printOut(Help.sweep); return 0 }
    guard p.positionals.count == 1 else { return usage(UsageError(message: "expected one SWEEP file (or CONFIG with --param)", command: "sweep")) }
    let quiet = p.has("--quiet")
    guard let (fresh, dir) = planFor(p.positionals[0], o, out: p.value("--out"), quiet: quiet),
          let plan = establish(fresh, in: dir, quiet: quiet) else { return 2 }
    if p.has("--json") {
        printOut(JSONValue.object([("directory", .string(dir)), ("trials", .number(Double(plan.trials.count))),
                                   ("last_index", .number(Double(plan.trials.count - 1)))]).serialized())
    } else if !quiet {
        let each = plan.spec.repeats > 1 ? " (\(plan.configurationCount) configurations × \(plan.spec.repeats) repeats)" : ""
        printOut("planned \(plan.trials.count) trials\(each) in \(dir)/\(SweepPlan.fileName)")
        printOut("run each with:   nntrain sweep trial \(dir) --index I    (I = 0…\(plan.trials.count - 1))")
        printOut("  Slurm:         sbatch --array=0-\(plan.trials.count - 1) configs/sweep/slurm-array.sbatch \(dir)")
        printOut("  GNU parallel:  parallel -j 2 nntrain sweep trial \(dir) --threads 1 --index {} ::: $(seq 0 \(plan.trials.count - 1))")
        printOut("then:            nntrain sweep collect \(dir)")
    }
    return 0
}

/// `nntrain sweep trial DIR --index I [--threads N] [--retry-failed]`: runs one trial here.
private func sweepTrialCommand(_ args: ArraySlice<String>) -> Int32 {
    let p: Arguments
    let index: Int?, rung: Int?, attempt: Int?, parent: Int?, threadsOption: Int?
    do {
        p = try Arguments(args, command: "sweep", valued: ["--index", "--threads", "--rung", "--attempt", "--parent"],
                          boolean: ["--retry-failed", "--fresh", "--quiet", "--json", "--help", "-h"])
        index = try p.int("--index", range: 0...10_000_000, command: "sweep")
        rung = try p.int("--rung", range: 0...1000, command: "sweep")
        attempt = try p.int("--attempt", range: 1...1_000_000, command: "sweep")
        parent = try p.int("--parent", range: 1...Int(Int32.max), command: "sweep")
        threadsOption = try p.int("--threads", range: 1...1024, command: "sweep")
    } catch {
        return usage(error)
    }
    if p.has("--help") || p.has("-h") { printOut(Help.sweep); return 0 }
    // The driver's children stop (with a checkpoint) when the driver dies.
    if let parent {
        Runtime.setParentDeathSignal(SIGTERM)
        if Runtime.parentProcessID != Int32(parent) { return 143 }
    }
    Runtime.installSignalFlag()
    guard p.positionals.count == 1 else { return usage(UsageError(message: "expected the sweep DIR", command: "sweep")) }
    guard let index else {
        return usage(UsageError(message: "--index I is required (a Slurm array job passes --index $SLURM_ARRAY_TASK_ID)", command: "sweep"))
    }
    let dir = p.positionals[0]
    // Only this trial's entry of plan.json (--json reports every trial: the whole plan).
    guard let plan = loadPlan(dir, trial: p.has("--json") ? nil : index) else { return 2 }
    guard index < plan.trials.count else {
        printError("error: --index \(index): the sweep in \(dir) has trials 0…\(plan.trials.count - 1)")
        return 2
    }
    let quiet = p.has("--quiet")
    let ledger = SweepLedger(directory: dir)
    let task: SweepTask, myAttempt: Int, fresh: Bool
    if let attempt {
        // Claimed by the driver that started this process.
        task = SweepTask(trial: index, rung: rung ?? 0)
        myAttempt = attempt
        fresh = p.has("--fresh")
    } else {
        let (pick, note, problems) = SweepStatus.claimable(trial: index, rung: rung, plan: plan, ledger: ledger,
                                                           retryFailed: p.has("--retry-failed"))
        if !quiet { for line in problems { printError("warning: \(line)") } }
        guard let (t, a, f) = pick else {
            if !quiet { printError(note) }
            return 0
        }
        do {
            guard try ledger.claim(t, attempt: a) != nil else {
                if !quiet { printError("trial \(index) was just claimed by another worker") }
                return 0
            }
        } catch {
            printError("error: cannot write to \(dir)/ledger: \(error)")
            return 1
        }
        task = t; myAttempt = a; fresh = f
    }
    let progress = ProgressPrinter(quiet: quiet)
    var options = Experiment.Options()
    options.onEvent = { progress.handle($0) }
    options.pendingSignal = { Runtime.pendingSignal }
    var threads = threadsOption
    if threads == nil, let s = Runtime.environment("SLURM_CPUS_PER_TASK"), let n = Int(s), n > 0 { threads = n }
    guard let result = SweepTrial.run(plan: plan, directory: dir, task: task, attempt: myAttempt, fresh: fresh,
                                      threads: threads, ledger: ledger, options: options) else {
        let s = Runtime.pendingSignal
        ledger.release(task, attempt: myAttempt)
        printError("trial \(index) interrupted; its checkpoint is kept and the next worker resumes it")
        return 128 + (s == 0 ? SIGTERM : s)
    }
    do { try ledger.record(result) } catch {
        printError("error: cannot record the result in \(dir)/ledger: \(error)")
        return 1
    }
    if p.has("--json") {
        printOut(SweepReport.collect(plan: plan, directory: dir, ledger: ledger).json.serialized())
    } else if !quiet {
        if result.status == .completed {
            printOut("trial \(index): \(plan.spec.metric.name) \(result.metric.map { formatSignificant($0, 5) } ?? "") (epoch \(result.bestEpoch ?? 0))")
        } else {
            printError("trial \(index) failed: \(result.reason ?? "")")
        }
    }
    return result.status == .completed ? 0 : max(1, result.exitCode)
}

/// `nntrain sweep collect DIR [--json]`: builds trials.csv and best.json from the ledger.
private func sweepCollectCommand(_ args: ArraySlice<String>) -> Int32 {
    let p: Arguments
    do {
        p = try Arguments(args, command: "sweep", valued: [], boolean: ["--json", "--quiet", "--help", "-h"])
    } catch {
        return usage(error)
    }
    if p.has("--help") || p.has("-h") { printOut(Help.sweep); return 0 }
    guard p.positionals.count == 1 else { return usage(UsageError(message: "expected the sweep DIR", command: "sweep")) }
    let dir = p.positionals[0]
    guard let plan = loadPlan(dir) else { return 2 }
    let report = SweepReport.collect(plan: plan, directory: dir, ledger: SweepLedger(directory: dir))
    if !p.has("--quiet") { for line in report.ledgerProblems { printError("warning: \(line)") } }
    do { try report.write(directory: dir) } catch {
        printError("error: cannot write results: \(error)")
        return 1
    }
    return finishReport(report, dir: dir, json: p.has("--json"), quiet: p.has("--quiet"), worker: false)
}
