import NNCore

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
