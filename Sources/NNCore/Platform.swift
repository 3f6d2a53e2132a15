#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSupport

/// An error from the file system, with the path and the system's reason.
public struct FileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
}

public enum FileIO {
    /// The whole file as bytes; refuses files larger than `limit` bytes. Pipes and FIFOs are
    /// read to their end (their `fstat` size is 0), within the same limit.
    public static func read(_ path: String, limit: Int = 1 << 34) throws(FileError) -> [UInt8] {
        try InputFile(path).readToEnd(limit: limit)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// `path` made absolute against the current directory, with `.` and `..` parts removed.
    public static func absolutePath(_ path: String) -> String {
        var full = path
        if !path.hasPrefix("/") {
            var buf = [CChar](repeating: 0, count: 4096)
            let cwd = getcwd(&buf, buf.count) != nil ? String(cString: buf) : "."
            full = cwd + "/" + path
        }
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Removes a file if it exists.
    public static func remove(_ path: String) { unlink(path) }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename.
    /// A reader sees the old file or the new one, never a half-written one.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(FileError) {
        let tmp = path + ".tmp-\(Runtime.hostName)-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw FileError(path: tmp, reason: String(cString: strerror(errno))) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { buf in write(fd, buf.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd); unlink(tmp)
                throw FileError(path: tmp, reason: reason)
            }
            done += n
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw FileError(path: tmp, reason: reason)
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw FileError(path: path, reason: reason)
        }
        // Make the rename itself durable (a power cut after this keeps the new file).
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    public static func writeAtomically(_ path: String, text: String) throws(FileError) {
        try writeAtomically(path, Array(text.utf8))
    }

    /// `mkdir -p`.
    public static func makeDirectories(_ path: String) throws(FileError) {
        if path.isEmpty || isDirectory(path) { return }
        var current = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            current += (current.isEmpty || current.hasSuffix("/") ? "" : "/") + part
            if isDirectory(current) { continue }
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw FileError(path: current, reason: String(cString: strerror(errno)))
            }
        }
        if !isDirectory(path) { throw FileError(path: path, reason: "exists and is not a directory") }
    }
}

/// An append-only text file flushed after every write: a crash loses no finished row.
public final class LineWriter {
    private let fd: Int32
    public let path: String

    public init(path: String, append: Bool) throws(FileError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
        if fd < 0 { throw FileError(path: path, reason: String(cString: strerror(errno))) }
    }

    public func write(_ line: String) {
        var s = line
        if !s.hasSuffix("\n") { s += "\n" }
        s.withUTF8 { buf in
            var done = 0
            while done < buf.count {
                let n = Glibc_write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 { if errno == EINTR { continue }; return }
                done += n
            }
        }
    }

    deinit { close(fd) }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

public enum Clock {
    /// Seconds on a monotonic clock.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

public enum Runtime {
    /// Peak resident set size of this process in bytes (Linux `ru_maxrss` is in KiB).
    public static var peakRSSBytes: Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss
        #endif
    }

    /// Turns on flush-to-zero / denormals-are-zero for this thread (see CSupport).
    @discardableResult
    public static func flushDenormals() -> Bool { nn_set_flush_denormals() != 0 }

    public static func installSignalFlag() { nn_install_signal_flag() }

    /// 0, SIGINT or SIGTERM: the first termination signal received since `installSignalFlag`
    /// (SIGHUP counts as SIGTERM; SIGPIPE is ignored from then on).
    public static var pendingSignal: Int32 { nn_pending_signal() }

    public static func environment(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }

    public static var isStandardErrorTerminal: Bool { isatty(2) != 0 }
}
