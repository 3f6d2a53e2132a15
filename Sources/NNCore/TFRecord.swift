/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven: the checksum of
/// TFRecord files. `CRC32C.checksum(Array("123456789".utf8)) == 0xE3069283`.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { (i: UInt32) -> UInt32 in
        var c = i
        for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// TFRecord's masked CRC: `((crc >> 15) | (crc << 17)) + 0xa282ead8`.
    public static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

/// The TFRecord format (TensorFlow's record files, TensorBoard's event files): each record is
/// its length (uint64 LE), the masked CRC-32C of those 8 bytes (uint32 LE), the data, and the
/// masked CRC-32C of the data (uint32 LE).
public enum TFRecord {
    /// Appends `data` as one record to `out`.
    public static func append(_ data: [UInt8], to out: inout [UInt8]) {
        let start = out.count
        var n = UInt64(data.count)
        for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: n)); n >>= 8 }
        appendUInt32(CRC32C.masked(out[start..<start + 8]), to: &out)
        out.append(contentsOf: data)
        appendUInt32(CRC32C.masked(data), to: &out)
    }

    static func appendUInt32(_ v: UInt32, to out: inout [UInt8]) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    /// The records of a file's bytes, in order. Reading stops at the first record that is
    /// incomplete or fails a checksum (a torn end); `end` is the offset just past the last good one.
    public static func records(_ bytes: [UInt8]) -> (records: [[UInt8]], end: Int) {
        var out: [[UInt8]] = []
        var i = 0
        func uint32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        while bytes.count - i >= 16 {   // a record is at least 16 bytes: header, CRCs, no data
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }
            guard CRC32C.masked(bytes[i..<i + 8]) == uint32(i + 8),
                  length <= UInt64(bytes.count - i - 16) else { break }
            let start = i + 12, end = start + Int(length)
            guard CRC32C.masked(bytes[start..<end]) == uint32(end) else { break }
            out.append(Array(bytes[start..<end]))
            i = end + 4
        }
        return (out, i)
    }
}

/// Appends bytes to a file (created when missing), as `LineWriter` appends rows: a write that
/// fails part-way is cut off again, so the file never ends in a torn record.
public final class AppendFile {
    private let fd: Int32
    public let path: String

    public init(path: String) throws(FileError) {
        self.path = path
        _ = try FileIO.writeTarget(path)
        fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_APPEND, 0o644)
        if fd < 0 { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }

    public func write(_ bytes: [UInt8]) throws(FileError) {
        let end = lseek(fd, 0, SEEK_END)
        if let reason = FileIO.writeAll(fd, bytes) {
            if end >= 0 { _ = ftruncate(fd, end) }
            throw FileError(path: path, reason: reason)
        }
    }

    deinit { close(fd) }
}
