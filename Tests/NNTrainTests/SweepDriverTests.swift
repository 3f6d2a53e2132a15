import NNCore
import Testing
@testable import NNTrain

// The sweep driver starts trials through an injected launcher: these tests run it with one
// that starts no process, so the claiming, failure and retry rules are checked in-process.

/// A launcher that runs nothing: each start records in the ledger the metric `outcome` gives
/// the trial (none: the trial "crashed" before writing a result) and reports its exit, with
/// `outcome`'s code, at the driver's next poll.
private final class FakeTrials: TrialLauncher {
    let ledger: SweepLedger
    let outcome: (TrialStart) -> (metric: Double?, code: Int32)
    var started: [TrialStart] = []
    var exits: [TrialExit] = []

    init(_ ledger: SweepLedger, _ outcome: @escaping (TrialStart) -> (metric: Double?, code: Int32)) {
        self.ledger = ledger
        self.outcome = outcome
    }

    func start(_ trial: TrialStart) throws(TrialLaunchError) -> Int32 {
        started.append(trial)
        let handle = Int32(100 + started.count)
        let (metric, code) = outcome(trial)
        if let metric {
            try? ledger.record(SweepResult(task: trial.task, attempt: trial.attempt, status: .completed, metric: metric, bestEpoch: 1,
                                           epochsRun: 1, seconds: 0, stopReason: "completed", reason: nil, exitCode: 0))
        }
        exits.append(TrialExit(handle: handle, code: code, description: "exit code \(code)"))
        return handle
    }

    func nextExit() -> TrialExit? { exits.isEmpty ? nil : exits.removeFirst() }

    func stop(_ handle: Int32) {}
}

/// A grid sweep of three learning rates over the shipped quickstart config, in a fresh directory.
private func gridSweep(_ name: String) throws -> (SweepPlan, String) {
    let text = #"{"config": "../quickstart.json", "method": "grid", "parameters": {"optimizer.lr": {"values": [0.1, 0.01, 0.001]}}}"#
    let spec = try SweepReader.read(try JSONValue.parse(text), baseDirectory: repositoryRoot + "configs/sweep", defaultName: "s")
    let base = try ConfigLoader.loadJSON(path: spec.configPath)
    let plan = SweepPlan.make(spec: spec, base: base, baseDirectory: ConfigLoader.directoryOf(spec.configPath))
    let dir = "/tmp/nntrain-sweep-driver-\(name)-\(Runtime.processID)"
    for sub in ["ledger", "heartbeats"] { for f in FileIO.listDirectory(dir + "/" + sub) { FileIO.remove(dir + "/" + sub + "/" + f) } }
    return (plan, dir)
}

@Test func theDriverStartsEachTrialThroughItsLauncherAndRecordsATrialThatEndsWithoutAResult() throws {
    let (plan, dir) = try gridSweep("launch")
    let ledger = SweepLedger(directory: dir)
    // Trial 1 ends with exit code 3 and no result; the others complete.
    let trials = FakeTrials(ledger) { $0.task.trial == 1 ? (nil, 3) : (Double($0.task.trial) + 0.5, 0) }
    let driver = SweepDriver(plan: plan, directory: dir, ledger: ledger, launcher: trials)
    driver.jobs = 2
    driver.threads = 3
    driver.pollSeconds = 0.001
    var lines: [String] = []
    driver.onLine = { lines.append($0) }
    #expect(driver.run() == 0)
    #expect(trials.started == (0..<3).map {
        TrialStart(directory: dir, task: SweepTask(trial: $0, rung: 0), attempt: 1, threads: 3, fresh: false,
                   log: dir + "/trials/" + SweepPlan.trialName($0) + "/log.txt")
    })
    let report = SweepReport.collect(plan: plan, directory: dir, ledger: ledger)
    #expect(report.rows.map(\.status) == ["completed", "failed", "completed"])
    #expect(report.rows[1].reason?.hasPrefix("the trial process ended with exit code 3; see \(dir)/trials/0001/log.txt") == true)
    #expect(report.best?.trial == 0)
    #expect(report.allFailedExitCode(ledger: ledger) == nil)
    #expect(lines.count == 3 && lines.contains { $0.contains("FAILED: the trial process ended with exit code 3") })

    // --retry-failed starts the failed trial over as attempt 2; nothing else runs again.
    let retry = FakeTrials(ledger) { _ in (0.25, 0) }
    let again = SweepDriver(plan: plan, directory: dir, ledger: ledger, launcher: retry)
    again.retryFailed = true
    again.pollSeconds = 0.001
    #expect(again.run() == 0)
    #expect(retry.started.map { [$0.task.trial, $0.attempt] } == [[1, 2]] && retry.started.allSatisfy(\.fresh))
    let after = SweepReport.collect(plan: plan, directory: dir, ledger: ledger)
    #expect(after.rows.map(\.status) == ["completed", "completed", "completed"] && after.best?.trial == 1)
}

@Test func aSweepWhoseEveryTrialFailedExitsWithTheCodeTheFailuresShare() throws {
    for (codes, expected) in [([Int32(4), 4, 4], Int32(4)), ([3, 4, 4], 1)] {
        let (plan, dir) = try gridSweep("failed")
        let ledger = SweepLedger(directory: dir)
        let driver = SweepDriver(plan: plan, directory: dir, ledger: ledger, launcher: FakeTrials(ledger) { (nil, codes[$0.task.trial]) })
        driver.pollSeconds = 0.001
        #expect(driver.run() == 0)
        let report = SweepReport.collect(plan: plan, directory: dir, ledger: ledger)
        #expect(report.failedCount == 3 && report.allFailedExitCode(ledger: ledger) == expected)
    }
}

/// `nntrain sweep trial DIR --index I` claims through the same rule as the driver
/// (`TaskState.claim`): a pending task as attempt 1, a failed one only with --retry-failed (as
/// the next attempt, starting over), a finished or running one not at all, with a note saying why.
@Test func aTrialClaimsItsTaskByTheDriversRule() throws {
    let (plan, dir) = try gridSweep("claim")
    let ledger = SweepLedger(directory: dir)
    let pending = SweepStatus.claimable(trial: 2, rung: nil, plan: plan, ledger: ledger, retryFailed: false)
    #expect(pending.pick?.task == SweepTask(trial: 2, rung: 0) && pending.pick?.attempt == 1 && pending.pick?.fresh == false)
    #expect(SweepStatus.claimable(trial: 2, rung: 1, plan: plan, ledger: ledger, retryFailed: false).pick == nil)
    _ = try ledger.claim(SweepTask(trial: 2, rung: 0), attempt: 1)
    let running = SweepStatus.claimable(trial: 2, rung: nil, plan: plan, ledger: ledger, retryFailed: true)
    #expect(running.pick == nil && running.note == "trial 2 is running (host \(Runtime.hostName), pid \(Runtime.processID))")
    try ledger.record(SweepResult(task: SweepTask(trial: 2, rung: 0), attempt: 1, status: .failed, metric: nil, bestEpoch: nil,
                                  epochsRun: 0, seconds: 0, stopReason: nil, reason: "diverged", exitCode: 4))
    let failed = SweepStatus.claimable(trial: 2, rung: nil, plan: plan, ledger: ledger, retryFailed: false)
    #expect(failed.pick == nil && failed.note == "trial 2 already failed: diverged (--retry-failed runs it again)")
    let retry = SweepStatus.claimable(trial: 2, rung: nil, plan: plan, ledger: ledger, retryFailed: true)
    #expect(retry.pick?.attempt == 2 && retry.pick?.fresh == true)
    #expect(SweepStatus(plan: plan, ledger: ledger).nextClaimable(retryFailed: true, skip: [SweepTask(trial: 0, rung: 0), SweepTask(trial: 1, rung: 0)])?.attempt == 2)
}
