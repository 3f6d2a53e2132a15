import NNCore

/// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): magic
/// `00 00 TT RR` (TT = 0x08 unsigned byte, RR = rank), RR big-endian UInt32 dimensions, data.
///
/// The header is read and checked first — dimensions multiplied with overflow checks, the
/// promised size against the file's size (raw files) and the data memory limit — and only
/// then is memory taken for the data, so a lying header costs nothing.
public enum IDX {
    public struct File: Sendable {
        public var dims: [Int]
        public var bytes: [UInt8]
    }

    /// Reads an IDX file of unsigned bytes, raw or gzip-compressed.
    public static func read(_ path: String, limit: Int = DataLimits.maxBytes) throws(DataError) -> File {
        let file: InputFile
        let magic: [UInt8]
        do {
            file = try InputFile(path)
            magic = try file.read(2)
        } catch {
            throw DataError(file: path, error.reason + missingDataHint(path))
        }
        if magic == [0x1F, 0x8B] {
            return try parse(GzipReader(file, prefix: magic), file: path, rawSize: nil, limit: limit)
        }
        return try parse(RawReader(file, prefix: magic), file: path, rawSize: file.regularSize, limit: limit)
    }

    /// Parses IDX bytes held in memory.
    public static func parse(_ bytes: [UInt8], file: String) throws(DataError) -> File {
        try parse(MemoryReader(bytes), file: file, rawSize: bytes.count, limit: DataLimits.maxBytes)
    }

    /// `rawSize`: the whole file's size when it is known before reading (a raw regular file).
    static func parse(_ reader: ByteReader, file: String, rawSize: Int?, limit: Int) throws(DataError) -> File {
        func take(_ n: Int) throws(DataError) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: n)
            let got = try reader.read(into: &b, at: 0, count: n)
            return Array(b[0..<got])
        }
        let head = try take(4)
        guard head.count == 4 else { throw DataError(file: file, "file is \(head.count) bytes, too short for an IDX header") }
        guard head[0] == 0, head[1] == 0 else {
            throw DataError(file: file, "not an IDX file (magic number starts \(hex(head[0])) \(hex(head[1])), expected 00 00)")
        }
        guard head[2] == 0x08 else {
            throw DataError(file: file, "IDX element type \(hex(head[2])) is not supported (expected 08, unsigned byte)")
        }
        let rank = Int(head[3])
        guard rank >= 1 && rank <= 4 else { throw DataError(file: file, "IDX rank \(rank) is not supported (expected 1 to 4)") }
        let dimBytes = try take(4 * rank)
        guard dimBytes.count == 4 * rank else { throw DataError(file: file, "IDX header is truncated") }
        var dims: [Int] = []
        var total = 1
        for d in 0..<rank {
            let o = 4 * d
            let v = Int(dimBytes[o]) << 24 | Int(dimBytes[o + 1]) << 16 | Int(dimBytes[o + 2]) << 8 | Int(dimBytes[o + 3])
            dims.append(v)
            let (product, overflow) = total.multipliedReportingOverflow(by: v)
            guard !overflow, product <= limit else {
                throw DataError(file: file, "IDX dimensions \(dims)\(dims.count < rank ? " and more" : "") promise more than \(limit) bytes of data (the data memory limit, NNTRAIN_MAX_MEMORY_GB)")
            }
            total = product
        }
        let header = 4 + 4 * rank
        if let size = rawSize {
            let have = size - header
            guard have >= total else {
                throw DataError(file: file, "file is truncated: the header promises \(dims) = \(total) bytes of data, found \(have)")
            }
            if have > total {
                throw DataError(file: file, "file has \(have - total) bytes after the \(total) bytes the header \(dims) describes")
            }
        }
        var data = [UInt8](repeating: 0, count: total)
        let got = try reader.read(into: &data, at: 0, count: total)
        guard got == total else {
            throw DataError(file: file, "file is truncated: the header promises \(dims) = \(total) bytes of data, found \(got)")
        }
        var probe = [UInt8](repeating: 0, count: 1)
        if try reader.read(into: &probe, at: 0, count: 1) > 0 {
            throw DataError(file: file, "file has bytes after the \(total) bytes the header \(dims) describes")
        }
        return File(dims: dims, bytes: data)
    }

    private static func hex(_ b: UInt8) -> String { (b < 16 ? "0" : "") + String(b, radix: 16) }
}

/// Bytes already in memory, read front to back.
final class MemoryReader: ByteReader {
    private let bytes: [UInt8]
    private var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: inout [UInt8], at start: Int, count: Int) throws(DataError) -> Int {
        let n = min(count, bytes.count - position)
        for i in 0..<n { buffer[start + i] = bytes[position + i] }
        position += n
        return n
    }
}

/// How much memory a data file may take: `NNTRAIN_MAX_MEMORY_GB` (default 8 GiB), the same
/// limit as the model's buffers. A file that promises more is refused before it is read.
public enum DataLimits {
    public static var maxBytes: Int {
        let gb = Runtime.environment("NNTRAIN_MAX_MEMORY_GB").flatMap(Double.init) ?? 8
        guard gb.isFinite, gb > 0 else { return 8 << 30 }
        return gb >= Double(1 << 20) ? Int.max / 2 : Int(gb * Double(1 << 30))
    }
}

/// Where to get a missing data file (Fashion-MNIST comes from a Debian package).
func missingDataHint(_ path: String) -> String {
    if path.contains("/usr/share/datasets/fashion-mnist") {
        return ". Fashion-MNIST is in the Debian package dataset-fashion-mnist: run `make data` (or `sudo apt-get install dataset-fashion-mnist`)"
    }
    return ""
}
