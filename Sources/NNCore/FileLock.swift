
/// An exclusive lock on a directory, held by this process while it writes there: `flock` on
/// `DIR/.lock`, which the kernel releases when the process dies (no stale locks). The file
/// holds the holder's pid, so a second writer can name it.
public final class FileLock {
    public let path: String
    private let fd: Int32

    public enum Failure: Error, CustomStringConvertible {
        /// Another process holds the lock (its pid when the file names one).
        case held(path: String, pid: Int32?)
        case file(FileError)
        public var description: String {
            switch self {
            case .held(let path, let pid): return "\(path) is locked by another nntrain process" + (pid.map { " (pid \($0))" } ?? "")
            case .file(let e): return e.description
            }
        }
    }

    /// Takes the lock of `directory` (created if missing) without waiting.
    public init(directory: String) throws(Failure) {
        do { try FileIO.makeDirectories(directory) } catch { throw .file(error) }
        path = directory + "/.lock"
        // O_NOFOLLOW: a symlink planted as the lock file is not followed to another file.
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if fd < 0 { throw .file(FileError(path: path, reason: String(cString: strerror(errno)))) }
        var r: Int32
        repeat { r = flock(fd, LOCK_EX | LOCK_NB) } while r != 0 && errno == EINTR
        if r != 0 {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            let pid = FileLock.holder(fd)
            close(fd)
            if busy { throw .held(path: directory, pid: pid) }
            throw .file(FileError(path: path, reason: reason))
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// The pid written in the lock file (at most 32 bytes read; anything else gives nil).
    private static func holder(_ fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 32, 0) }
        guard n > 0 else { return nil }
        let digits = buf[0..<n].prefix { $0 >= 0x30 && $0 <= 0x39 }
        return Int32(String(decoding: digits, as: UTF8.self)).flatMap { $0 > 0 ? $0 : nil }
    }

    deinit { close(fd) }
}
