import NNCore

/// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): magic
/// `00 00 TT RR` (TT = 0x08 unsigned byte, RR = rank), RR big-endian UInt32 dimensions, data.
public enum IDX {
    public struct File: Sendable {
        public var dims: [Int]
        public var bytes: [UInt8]
    }

    /// Reads an IDX file of unsigned bytes, raw or gzip-compressed.
    public static func read(_ path: String) throws(DataError) -> File {
        var bytes: [UInt8]
        do { bytes = try FileIO.read(path) } catch {
            throw DataError(file: path, error.reason + missingDataHint(path))
        }
        if Gzip.isGzip(bytes) { bytes = try Gzip.decompress(bytes, file: path) }
        return try parse(bytes, file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(DataError) -> File {
        guard bytes.count >= 4 else { throw DataError(file: file, "file is \(bytes.count) bytes, too short for an IDX header") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(file: file, "not an IDX file (magic number starts \(hex(bytes[0])) \(hex(bytes[1])), expected 00 00)")
        }
        guard bytes[2] == 0x08 else {
            throw DataError(file: file, "IDX element type \(hex(bytes[2])) is not supported (expected 08, unsigned byte)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 && rank <= 4 else { throw DataError(file: file, "IDX rank \(rank) is not supported (expected 1 to 4)") }
        guard bytes.count >= 4 + 4 * rank else { throw DataError(file: file, "IDX header is truncated") }
        var dims: [Int] = []
        var total = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let v = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(v)
            total = total.multipliedReportingOverflow(by: v).partialValue
            if total > 1 << 34 { throw DataError(file: file, "IDX dimensions \(dims) are implausibly large") }
        }
        let header = 4 + 4 * rank
        let have = bytes.count - header
        guard have >= total else {
            throw DataError(file: file, "file is truncated: the header promises \(dims) = \(total) bytes of data, found \(have)")
        }
        if have > total {
            throw DataError(file: file, "file has \(have - total) bytes after the \(total) bytes the header \(dims) describes")
        }
        return File(dims: dims, bytes: Array(bytes[header...]))
    }

    private static func hex(_ b: UInt8) -> String { (b < 16 ? "0" : "") + String(b, radix: 16) }
}

/// Where to get a missing data file (Fashion-MNIST comes from a Debian package).
func missingDataHint(_ path: String) -> String {
    if path.contains("/usr/share/datasets/fashion-mnist") {
        return ". Fashion-MNIST is in the Debian package dataset-fashion-mnist: run `make data` (or `sudo apt-get install dataset-fashion-mnist`)"
    }
    return ""
}
