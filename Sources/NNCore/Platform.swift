// The C library for every file of nntrain: one import here, re-exported to every file that
// imports NNCore (NNTrain, the CLI) and, within NNCore, visible to its other files.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Darwin)
@_exported import Darwin
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
    /// The path with every symbolic link resolved (`realpath`), or nil when it does not exist.
    public static func resolvedPath(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

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

    /// Whether `path` is a regular file, or a symbolic link to one.
    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes `bytes` to `path` so that a reader sees the old content or the new, never a
    /// half-written file, and nothing but `path` (or what it links to) changes:
    /// - a regular file, or a new name in an existing directory: a temporary file beside it
    ///   (`.NAME.tmp-PID-RANDOM`, in the same directory, created exclusively), fsync, rename;
    /// - a symbolic link: followed; its target is replaced that way and the link stays a link
    ///   (a dangling link is refused: there is no file to replace);
    /// - a character device or a FIFO (`/dev/null`, a named pipe with a reader): written
    ///   through, never renamed over (a FIFO without a reader is refused, not waited on);
    /// - `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N` of an open descriptor: written
    ///   to that descriptor, whatever it is (`--result-json /dev/stdout > out.json` appends to
    ///   the shell's file instead of renaming a new one over it);
    /// - a directory, a block device or a socket, an empty path or one ending in `/`, `.` or `..`:
    ///   refused with a `FileError` naming `path`.
    /// A failed write (no space left, an I/O error) removes the temporary file and throws; the
    /// old file stays as it was.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(FileError) {
        switch try writeTarget(path) {
        case .replace(let target): try replaceAtomically(target, bytes, named: path)
        case .writeThrough: try writeThrough(path, bytes)
        case .descriptor(let fd):
            if let reason = writeAll(fd, bytes) { throw FileError(path: path, reason: reason) }
        }
    }

    public static func writeAtomically(_ path: String, text: String) throws(FileError) {
        try writeAtomically(path, Array(text.utf8))
    }

    /// How `writeAtomically` writes `path`: replace the regular file at a (resolved) path, or
    /// write through to a device or FIFO.
    enum WriteTarget: Equatable {
        case replace(String)
        case writeThrough
        case descriptor(Int32)
    }

    /// The open descriptor that `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` or `/proc/self/fd/N` names.
    static func namedDescriptor(_ path: String) -> Int32? {
        let fd: Int32?
        switch path {
        case "/dev/stdout": fd = 1
        case "/dev/stderr": fd = 2
        default:
            let number = ["/dev/fd/", "/proc/self/fd/"].first { path.hasPrefix($0) }.map { path.dropFirst($0.count) }
            fd = number.flatMap { Int32($0) }
        }
        guard let fd, fd >= 0, fcntl(fd, F_GETFD) != -1 else { return nil }
        return fd
    }

    static func writeTarget(_ path: String) throws(FileError) -> WriteTarget {
        let shown = path.isEmpty ? "\"\"" : path
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        if path.isEmpty || last.isEmpty || last == "." || last == ".." {
            throw FileError(path: shown, reason: "is not a file name (an empty path, or one ending in /, . or ..)")
        }
        if let fd = namedDescriptor(path) { return .descriptor(fd) }
        var link = stat()
        guard lstat(path, &link) == 0 else {
            let e = errno
            if e == ENOENT { return .replace(path) }   // a new file
            throw FileError(path: path, reason: String(cString: strerror(e)))
        }
        var st = link
        var target = path
        if (link.st_mode & S_IFMT) == S_IFLNK {
            guard stat(path, &st) == 0 else {
                let e = errno
                throw FileError(path: path, reason: e == ENOENT
                                ? "is a symbolic link to \(linkText(path)), which does not exist; refusing to create it"
                                : "is a symbolic link that cannot be followed: \(String(cString: strerror(e)))")
            }
            if (st.st_mode & S_IFMT) == S_IFREG {
                guard let resolved = realpath(path, nil) else {
                    throw FileError(path: path, reason: "cannot resolve the symbolic link: \(String(cString: strerror(errno)))")
                }
                target = String(cString: resolved)
                free(resolved)
            }
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .replace(target)
        case S_IFCHR, S_IFIFO: return .writeThrough
        case S_IFDIR: throw FileError(path: path, reason: "is a directory, not a file")
        case S_IFBLK: throw FileError(path: path, reason: "is a block device; refusing to write to it")
        default: throw FileError(path: path, reason: "is not a regular file, a character device or a FIFO; refusing to write to it")
        }
    }

    private static func linkText(_ path: String) -> String {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buf, 4096)
        return n > 0 ? String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }

    /// The temporary file beside `path` (same directory, so the rename stays in it).
    static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // A name stays under NAME_MAX (255 bytes) however long `base` is.
        return dir + "." + String(decoding: base.utf8.prefix(180), as: UTF8.self)
            + ".tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    private static func replaceAtomically(_ path: String, _ bytes: [UInt8], named shown: String) throws(FileError) {
        var tmp = temporaryName(for: path)
        var fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        for _ in 0..<8 where fd < 0 && errno == EEXIST {
            tmp = temporaryName(for: path)
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        if fd < 0 { throw FileError(path: shown, reason: String(cString: strerror(errno))) }
        if let reason = writeAll(fd, bytes) ?? (fsync(fd) != 0 ? String(cString: strerror(errno)) : nil) {
            close(fd); unlink(tmp)
            throw FileError(path: shown, reason: reason)
        }
        if close(fd) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw FileError(path: shown, reason: reason)
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw FileError(path: shown, reason: reason)
        }
        // Make the rename itself durable (a power cut after this keeps the new file).
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Writes into an existing device or FIFO. Opened without blocking, so a FIFO that nobody
    /// reads is refused at once instead of hanging the process.
    private static func writeThrough(_ path: String, _ bytes: [UInt8]) throws(FileError) {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            throw FileError(path: path, reason: e == ENXIO ? "is a FIFO that nobody reads" : String(cString: strerror(e)))
        }
        defer { close(fd) }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        if let reason = writeAll(fd, bytes) { throw FileError(path: path, reason: reason) }
    }

    /// Writes all of `bytes` (retrying short writes and EINTR); the system's reason on failure.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { buf -> String? in
            guard let base = buf.baseAddress else { return nil }
            var done = 0
            while done < buf.count {
                let n = write(fd, base + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                if n == 0 { return "the write made no progress" }
                done += n
            }
            return nil
        }
    }

    /// `mkdir -p`. An empty path is refused (it would mean the current directory by accident).
    public static func makeDirectories(_ path: String) throws(FileError) {
        if path.isEmpty { throw FileError(path: "\"\"", reason: "an empty path is not a directory") }
        if isDirectory(path) { return }
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

/// An append-only text file flushed after every write: a crash loses no finished row, and a
/// row that cannot be written (no space left, an I/O error) throws instead of vanishing.
public final class LineWriter {
    private let fd: Int32
    public let path: String

    public init(path: String, append: Bool) throws(FileError) {
        self.path = path
        // The targets `writeAtomically` refuses are refused here too (a directory, a dangling
        // link, whose target O_CREAT would create wherever it points, a block device, …).
        _ = try FileIO.writeTarget(path)
        // Without blocking: a FIFO in the file's place is refused at once rather than waited on.
        fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
        if fd < 0 { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }

    /// Appends `line` (a newline added when missing). A row that fails part-way is cut off
    /// again where the file is a regular one, so the file never ends in a torn row.
    public func write(_ line: String) throws(FileError) {
        let s = line.hasSuffix("\n") ? line : line + "\n"
        let end = lseek(fd, 0, SEEK_END)   // -1 on a FIFO or device: nothing to cut
        if let reason = FileIO.writeAll(fd, Array(s.utf8)) {
            if end >= 0 { _ = ftruncate(fd, end) }
            throw FileError(path: path, reason: reason)
        }
    }

    deinit { close(fd) }
}

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
