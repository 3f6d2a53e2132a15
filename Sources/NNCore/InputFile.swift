
/// A file read from front to back in pieces, so a reader can check a header before it commits
/// memory to what the header promises. Works on regular files and on pipes, FIFOs and
/// `/dev/stdin` (`run <(zcat cfg.gz)`), whose `fstat` size says nothing.
public final class InputFile {
    public let path: String
    private let fd: Int32
    /// The size of a regular file; nil for a pipe, FIFO or device.
    public let regularSize: Int?
    /// Bytes read so far.
    public private(set) var offset = 0

    /// The reason of a read or open cut short by a termination signal (SIGINT/SIGTERM/SIGHUP).
    public static let interrupted = "interrupted by a signal while waiting for data"

    public init(_ path: String) throws(FileError) {
        self.path = path
        var fd: Int32
        // Opening a FIFO blocks until a writer comes: a termination signal meanwhile ends the
        // wait (the caller reports an interruption), any other signal retries.
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR && Runtime.pendingSignal == 0
        if fd < 0 {
            throw FileError(path: path, reason: errno == EINTR ? InputFile.interrupted : String(cString: strerror(errno)))
        }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw FileError(path: path, reason: reason)
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            close(fd)
            throw FileError(path: path, reason: "is a directory, expected a file")
        case S_IFREG:
            regularSize = Int(st.st_size)
        default:
            regularSize = nil
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Up to `count` bytes (fewer only at the end of the file).
    public func read(_ count: Int) throws(FileError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(0, count))
        let n = try read(into: &bytes, at: 0, count: bytes.count)
        if n < bytes.count { bytes.removeLast(bytes.count - n) }
        return bytes
    }

    /// Reads up to `count` bytes into `buffer[start...]`; returns how many (fewer only at the end).
    public func read(into buffer: inout [UInt8], at start: Int, count: Int) throws(FileError) -> Int {
        precondition(start >= 0 && count >= 0 && start + count <= buffer.count, "\(path): read outside the buffer")
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { b in systemRead(fd, b.baseAddress! + start + done, count - done) }
            if n < 0 {
                if errno == EINTR {
                    if Runtime.pendingSignal != 0 { throw FileError(path: path, reason: InputFile.interrupted) }
                    continue
                }
                throw FileError(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            done += n
        }
        offset += done
        return done
    }

    /// Everything from here to the end; a file of more than `limit` bytes is an error naming it.
    public func readToEnd(limit: Int) throws(FileError) -> [UInt8] {
        if let size = regularSize, size > limit {
            throw FileError(path: path, reason: "file is \(size) bytes, more than the \(limit)-byte limit")
        }
        var bytes: [UInt8] = []
        if let size = regularSize, size > offset {
            bytes = [UInt8](repeating: 0, count: size - offset)
            let n = try read(into: &bytes, at: 0, count: bytes.count)
            if n < bytes.count { bytes.removeLast(bytes.count - n); return bytes }
        }
        // A pipe, or a regular file that grew while it was read: chunks until the end.
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try read(into: &chunk, at: 0, count: chunk.count)
            if n == 0 { return bytes }
            if offset > limit { throw FileError(path: path, reason: "holds more than the \(limit)-byte limit") }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}

/// `read(2)`, out of reach of `InputFile.read` inside the class.
@inline(__always)
private func systemRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }
