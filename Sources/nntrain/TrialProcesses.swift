#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSupport
import NNCore
import NNTrain

/// The sweep driver's launcher in the CLI: each trial is a child `nntrain sweep trial DIR
/// --index I --rung R --attempt A --threads T --parent PID [--fresh]` process of this binary,
/// its stdout and stderr appended to the trial's log. The child stops (with its checkpoint)
/// when this process dies (`--parent`).
final class TrialProcesses: TrialLauncher {
    /// The nntrain binary to run trials with.
    var executable = Runtime.executablePath

    func start(_ trial: TrialStart) throws(TrialLaunchError) -> Int32 {
        var args = ["sweep", "trial", trial.directory, "--index", String(trial.task.trial), "--rung", String(trial.task.rung),
                    "--attempt", String(trial.attempt), "--threads", String(trial.threads),
                    "--parent", String(Runtime.processID)]
        if trial.fresh { args.append("--fresh") }
        do { return try ChildProcess.spawn(executable, args, log: trial.log) } catch { throw TrialLaunchError(error.description) }
    }

    func nextExit() -> TrialExit? {
        guard let exit = ChildProcess.reap(block: false) else { return nil }
        return TrialExit(handle: exit.pid, code: exit.code, description: exit.description)
    }

    /// SIGTERM, not a second SIGINT: a trial's second SIGINT would skip its checkpoint.
    func stop(_ handle: Int32) { Runtime.sendSignal(SIGTERM, to: handle) }
}
