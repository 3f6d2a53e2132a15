import NNCore
import NNTrain

// Child processes: the CLI starts a sweep's trials as `nntrain sweep trial` processes
// (`TrialProcesses`), and a trial stops when the driver that started it dies.

extension Runtime {
    /// The running executable's path (`/proc/self/exe` on Linux), else `argv[0]`.
    static var executablePath: String {
        #if os(Linux)
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 { return String(cString: buf) }
        #endif
        return CommandLine.arguments.first ?? "nntrain"
    }

    /// The parent's pid.
    static var parentProcessID: Int32 { getppid() }
}

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

/// A child process started with `spawn`; `reap` collects finished ones.
enum ChildProcess {
    struct Exit: Sendable, Equatable {
        var pid: Int32
        /// The exit code, or nil when a signal ended it.
        var code: Int32?
        var signal: Int32
        var description: String {
            if let code { return "exit code \(code)" }
            return "killed by signal \(signal)\(signal == 9 ? " (SIGKILL: out of memory or killed by hand?)" : signal == 11 ? " (SIGSEGV)" : "")"
        }
    }

    /// Starts `executable` with `arguments`; stdout and stderr go to `log` (appended) when given.
    static func spawn(_ executable: String, _ arguments: [String], log: String?) throws(FileError) -> Int32 {
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { for p in argv { free(p) } }
        var cargv: [UnsafeMutablePointer<CChar>?] = argv + [nil]
        let pid = cargv.withUnsafeMutableBufferPointer { Runtime.spawn(executable, $0.baseAddress!, log: log) }
        if pid < 0 { throw FileError(path: executable, reason: "cannot start: \(String(cString: strerror(errno)))") }
        return pid
    }

    /// One finished child (any when `pid` is nil); nil when none has finished and `block` is false.
    static func reap(_ pid: Int32? = nil, block: Bool) -> Exit? {
        let r = Runtime.waitChild(pid ?? -1, block: block)
        guard r.pid > 0 else { return nil }
        return Exit(pid: r.pid, code: r.code >= 0 ? r.code : nil, signal: r.signal)
    }
}
