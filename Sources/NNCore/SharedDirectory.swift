import CSupport

// Process identity and the directory operations a directory shared by processes and machines
// needs (listing, create-once files): what a sweep's ledger is built on. Kept here so NNTrain
// needs no Foundation. (Child processes are the CLI's: Sources/nntrain/ChildProcess.swift.)

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

    /// Sleeps for `seconds` (interrupted early by a signal).
    public static func sleep(seconds: Double) {
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        nanosleep(&ts, nil)
    }
}
