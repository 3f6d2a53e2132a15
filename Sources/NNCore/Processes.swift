#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSupport

// Child processes, process identity and the directory operations a shared sweep directory
// needs (listing, create-once files). Kept here so NNTrain needs no Foundation.

extension FileIO {
    /// The names in a directory (no "." and ".."); empty when it cannot be read.
    public static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Creates `path` with `text` only if no file of that name exists, atomically, also on NFS:
    /// the text goes to a unique temporary file that is then hard-linked to `path` (link fails
    /// when the name exists). Returns false when another writer got there first.
    public static func createExclusively(_ path: String, text: String) throws(FileError) -> Bool {
        let tmp = path + ".new-\(Runtime.hostName)-\(getpid())"
        try writeAtomically(tmp, text: text)
        defer { unlink(tmp) }
        if link(tmp, path) == 0 { return true }
        let e = errno
        if e == EEXIST { return false }
        throw FileError(path: path, reason: String(cString: strerror(e)))
    }
}

extension Runtime {
    /// This machine's host name (for claims in a shared directory).
    public static let hostName: String = {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        let name = String(cString: buf)
        return name.isEmpty ? "localhost" : name
    }()

    public static var processID: Int32 { getpid() }

    /// Wall-clock seconds since the epoch (comparable between machines, unlike `Clock.now`).
    public static func wallTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Whether a process with this pid exists on this machine.
    public static func isAlive(_ pid: Int32) -> Bool { nn_process_alive(pid) != 0 }

    /// The running executable's path (`/proc/self/exe` on Linux), else `argv[0]`.
    public static var executablePath: String {
        #if os(Linux)
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 { return String(cString: buf) }
        #endif
        return CommandLine.arguments.first ?? "nntrain"
    }

    /// Asks the kernel to send `signal` to this process when its parent exits (Linux).
    @discardableResult
    public static func setParentDeathSignal(_ signal: Int32) -> Bool { nn_set_parent_death_signal(signal) != 0 }

    /// The parent's pid.
    public static var parentProcessID: Int32 { getppid() }

    public static func sendSignal(_ signal: Int32, to pid: Int32) { _ = nn_kill(pid, signal) }

    /// Sleeps for `seconds` (interrupted early by a signal).
    public static func sleep(seconds: Double) {
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        nanosleep(&ts, nil)
    }
}

/// A child process started with `spawn`; `reap` collects finished ones.
public enum ChildProcess {
    public struct Exit: Sendable, Equatable {
        public var pid: Int32
        /// The exit code, or nil when a signal ended it.
        public var code: Int32?
        public var signal: Int32
        public var description: String {
            if let code { return "exit code \(code)" }
            return "killed by signal \(signal)\(signal == 9 ? " (SIGKILL: out of memory or killed by hand?)" : signal == 11 ? " (SIGSEGV)" : "")"
        }
    }

    /// Starts `executable` with `arguments`; stdout and stderr go to `log` (appended) when given.
    public static func spawn(_ executable: String, _ arguments: [String], log: String?) throws(FileError) -> Int32 {
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { for p in argv { free(p) } }
        var cargv: [UnsafeMutablePointer<CChar>?] = argv + [nil]
        let pid = cargv.withUnsafeMutableBufferPointer { buf in
            if let log { return log.withCString { nn_spawn(executable, buf.baseAddress!, $0) } }
            return nn_spawn(executable, buf.baseAddress!, nil)
        }
        if pid < 0 { throw FileError(path: executable, reason: "cannot start: \(String(cString: strerror(errno)))") }
        return pid
    }

    /// One finished child (any when `pid` is nil); nil when none has finished and `block` is false.
    public static func reap(_ pid: Int32? = nil, block: Bool) -> Exit? {
        var code: Int32 = 0, sig: Int32 = 0
        let r = nn_wait_child(pid ?? -1, block ? 1 : 0, &code, &sig)
        guard r > 0 else { return nil }
        return Exit(pid: r, code: code >= 0 ? code : nil, signal: sig)
    }
}
