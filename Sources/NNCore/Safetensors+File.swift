// Reading safetensors files from disk, header first (the format itself: Safetensors.swift).

extension Safetensors {
    /// The metadata of a safetensors file, from its checked header alone (no tensor byte read).
    public static func readMetadata(_ path: String) throws -> [String: String] {
        let file = try InputFile(path)
        let n = try headerLength(try file.read(8), fileSize: file.regularSize)
        let headerBytes = try file.read(n)
        guard headerBytes.count == n else {
            throw FormatError(message: "file ends inside its \(n)-byte header", isNotSafetensors: true)
        }
        return try Safetensors.layout(header: headerBytes, dataCount: file.regularSize.map { $0 - 8 - n }).metadata
    }

    /// Reads a safetensors file header first: the 8-byte length, the header (at most
    /// `maxHeaderBytes`), its checks against the file size, and only then the `dataEnd` bytes
    /// the header describes, at most `limit` of them. A huge or sparse file is refused before
    /// its data is read. Regular files, pipes and FIFOs alike (`InputFile`).
    /// Throws `FileError` (the file cannot be read) or `FormatError`.
    public static func read(_ path: String, limit: Int) throws -> File {
        let file = try InputFile(path)
        let n = try headerLength(try file.read(8), fileSize: file.regularSize)
        let headerBytes = try file.read(n)
        guard headerBytes.count == n else {
            throw FormatError(message: "file ends inside its \(n)-byte header", isNotSafetensors: true)
        }
        let layout = try Safetensors.layout(header: headerBytes, dataCount: file.regularSize.map { $0 - 8 - n })
        guard layout.dataEnd <= limit else {
            throw FormatError(message: "its tensors take \(layout.dataEnd) bytes, more than the \(limit)-byte memory limit (NNTRAIN_MAX_MEMORY_GB)")
        }
        var data: [UInt8]
        if file.regularSize != nil {
            data = try file.read(layout.dataEnd)  // the size was checked: the bytes are there
        } else {
            // A pipe says nothing of its size: memory grows only as the bytes arrive.
            data = []
            var chunk = [UInt8](repeating: 0, count: min(layout.dataEnd, 1 << 24))
            while data.count < layout.dataEnd {
                let got = try file.read(into: &chunk, at: 0, count: min(chunk.count, layout.dataEnd - data.count))
                if got == 0 { break }
                data.append(contentsOf: chunk[0..<got])
            }
        }
        guard data.count == layout.dataEnd else {
            throw FormatError(message: "file ends after \(data.count) of the \(layout.dataEnd) bytes of tensor data its header describes")
        }
        if file.regularSize == nil, !(try file.read(1)).isEmpty {
            throw FormatError(message: "has bytes after its last tensor (the header describes \(layout.dataEnd) bytes of data)")
        }
        let entries = data.withUnsafeBytes { Safetensors.entries(layout, data: $0) }
        return File(entries: entries, metadata: layout.metadata, checksumMatches: checksumMatches(layout, data: data[...]))
    }
}

/// CRC-32 (the polynomial of zlib, gzip and PNG, reflected 0xEDB88320), table driven.
public struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { (i: Int) -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    private var state: UInt32 = 0xFFFF_FFFF
    public init() {}

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        var c = state
        Self.table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        state = c
    }

    public var value: UInt32 { state ^ 0xFFFF_FFFF }
    /// Eight lowercase hex digits.
    public var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
