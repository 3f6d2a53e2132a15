/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
/// 8 bytes little-endian header length N, N bytes of JSON header
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the raw little-endian tensor data (offsets count from the end of the header).
///
/// Read: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL and U64 — every tensor is also
/// converted to Float32 (`values`, as torch's `.float()`), integer tensors keep their exact
/// integers. Written: F64, F32, BF16 and every integer dtype.
public enum Safetensors {
    /// One named tensor. `values` holds every element as Float32; integer tensors (checkpoint
    /// bookkeeping, `num_batches_tracked`) also carry their exact integers in `integers`
    /// (two's complement bit patterns, sign-extended to 64 bits).
    public struct Entry: Sendable, Equatable {
        public enum DType: String, Sendable, CaseIterable {
            case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
            case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL", u64 = "U64"

            /// Bytes per element.
            public var size: Int {
                switch self {
                case .f64, .i64, .u64: return 8
                case .f32, .i32: return 4
                case .f16, .bf16, .i16: return 2
                case .i8, .u8, .bool: return 1
                }
            }

            public var isFloatingPoint: Bool { [.f64, .f32, .f16, .bf16].contains(self) }
            var isSigned: Bool { [.i64, .i32, .i16, .i8].contains(self) }
        }
        public var name: String
        public var shape: [Int]
        public var dtype: DType
        public var values: [Float]
        public var integers: [UInt64]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name; self.shape = shape; self.values = values; dtype = .f32; integers = []
        }

        public init(name: String, int32s: [Int32]) {
            self.name = name; shape = [int32s.count]; dtype = .i32; values = int32s.map { Float($0) }
            integers = int32s.map { UInt64(bitPattern: Int64($0)) }
        }

        /// An I64 tensor; `shape: []` is a scalar (torch's `num_batches_tracked`).
        public init(name: String, shape: [Int], int64s: [Int64]) {
            self.name = name; self.shape = shape; dtype = .i64; values = int64s.map { Float($0) }
            integers = int64s.map { UInt64(bitPattern: $0) }
        }

        public init(name: String, uint64s: [UInt64]) {
            self.name = name; shape = [uint64s.count]; dtype = .u64; values = uint64s.map { Float($0) }; integers = uint64s
        }

        public var int32s: [Int32] { integers.map { Int32(truncatingIfNeeded: $0) } }
        var count: Int { values.count }
    }

    /// Why a file could not be read. `isNotSafetensors`: the file is not safetensors at all
    /// (too short, a header length past the end, a header that is not a JSON object); otherwise
    /// it is safetensors with a tensor nntrain cannot use (`message` names the tensor).
    public struct FormatError: Error, CustomStringConvertible {
        public var message: String
        public var isNotSafetensors = false
        public var description: String { message }

        public init(message: String, isNotSafetensors: Bool = false) {
            self.message = message
            self.isNotSafetensors = isNotSafetensors
        }
    }

    /// The metadata key of the checksum `encode(_:metadata:checksum: true)` writes and
    /// `read(_:limit:)` checks: CRC-32 (zlib's polynomial, 8 hex digits) of the header as JSON
    /// without this key (`serialized(indent: 0)`), continued over every byte of the data.
    /// A bit flip anywhere in the tensors, the shapes or the metadata changes it.
    public static let checksumKey = "crc32"

    public static func encode(_ entries: [Entry], metadata: [(String, String)] = [], checksum: Bool = false) -> [UInt8] {
        var header: [(String, JSONValue)] = []
        var offset = 0
        for e in entries {
            precondition(e.shape.reduce(1, *) == e.count, "Safetensors: \(e.name) shape/values mismatch")
            precondition(e.dtype.isFloatingPoint || e.integers.count == e.count, "Safetensors: \(e.name) integers/values mismatch")
            precondition(e.dtype != .f16, "Safetensors: \(e.name): F16 is read, never written")
            let bytes = e.count * e.dtype.size
            header.append((e.name, .object([
                ("dtype", .string(e.dtype.rawValue)),
                ("shape", .array(e.shape.map { .number(Double($0)) })),
                ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + bytes))])),
            ])))
            offset += bytes
        }
        var data: [UInt8] = []
        data.reserveCapacity(offset)
        func append(_ v: UInt64, bytes: Int) {
            var n = v
            for _ in 0..<bytes { data.append(UInt8(n & 0xFF)); n >>= 8 }
        }
        for e in entries {
            switch e.dtype {
            case .f32: for v in e.values { append(UInt64(v.bitPattern), bytes: 4) }
            case .f64: for v in e.values { append(Double(v).bitPattern, bytes: 8) }
            case .bf16: for v in e.values { append(UInt64(bfloat16Bits(v)), bytes: 2) }
            case .f16: break
            default: for v in e.integers { append(v, bytes: e.dtype.size) }
            }
        }
        var meta = metadata.map { ($0.0, JSONValue.string($0.1)) }
        if checksum {
            let covered = meta.isEmpty ? header : [("__metadata__", .object(meta))] + header
            var crc = CRC32()
            crc.update(Array(JSONValue.object(covered).serialized(indent: 0).utf8))
            crc.update(data)
            meta.append((checksumKey, .string(crc.hex)))
        }
        if !meta.isEmpty { header.insert(("__metadata__", .object(meta)), at: 0) }
        var headerBytes = Array(JSONValue.object(header).serialized(indent: 0).utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        var n = UInt64(headerBytes.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        out += headerBytes
        out += data
        return out
    }

    /// The bfloat16 nearest to `v` (round to nearest even; NaN stays NaN).
    static func bfloat16Bits(_ v: Float) -> UInt16 {
        let b = v.bitPattern
        if v.isNaN { return UInt16(b >> 16) | 0x40 }
        return UInt16((b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    /// The Float32 value of an IEEE 754 half-precision bit pattern (exact).
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-24  // zero and subnormals
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    /// A JSON number that is a whole number in 0...2⁵³ (exact as Double), else nil.
    private static func wholeNumber(_ v: JSONValue?) -> Int? {
        guard let d = v?.doubleValue, d.isFinite, d >= 0, d <= 9_007_199_254_740_992, d == d.rounded() else { return nil }
        return Int(exactly: d)
    }

    /// The largest header nntrain reads (the reference implementation's limit is 100 MB too).
    public static let maxHeaderBytes = 100_000_000

    /// A file read from disk: its tensors, its metadata (without the checksum) and what its
    /// checksum said: nil when it has none, else whether it matched.
    public struct File {
        public var entries: [Entry]
        public var metadata: [String: String]
        public var checksumMatches: Bool?
    }

    /// Where each tensor lies, from a checked header.
    struct Layout {
        struct Tensor { var name: String; var dtype: Entry.DType; var shape: [Int]; var elements: Int; var begin: Int; var end: Int }
        var tensors: [Tensor] = []
        var metadata: [String: String] = [:]
        /// The header as JSON without the checksum key (what the checksum covers).
        var covered: JSONValue = .null
        var storedChecksum: String?
        /// Bytes of tensor data the header describes (the end of the last tensor).
        var dataEnd = 0
    }

    /// Checks a header before any tensor byte is read: dtypes, shapes (overflow-checked),
    /// offsets that match shape × dtype, tensors stored back to back from byte 0 without gaps or
    /// overlaps, no duplicate names; `dataCount`, when known, is the data's exact size.
    static func layout(header headerBytes: [UInt8], dataCount: Int?) throws(FormatError) -> Layout {
        let header: JSONValue
        do { header = try JSONValue.parse(headerBytes) } catch {
            throw FormatError(message: "header is not valid JSON (\(error))", isNotSafetensors: true)
        }
        guard case .object(let pairs) = header else {
            throw FormatError(message: "header is not a JSON object", isNotSafetensors: true)
        }
        var layout = Layout()
        var covered: [(String, JSONValue)] = []
        var names = Set<String>()
        let available = dataCount ?? Int.max
        for (name, info) in pairs {
            if name == "__metadata__" {
                guard names.insert(name).inserted else { throw FormatError(message: "__metadata__ appears twice in the header") }
                guard let meta = info.objectValue else {
                    throw FormatError(message: "__metadata__ is \(info.brief), expected an object of strings")
                }
                var kept: [(String, JSONValue)] = []
                for (k, v) in meta {
                    if k == checksumKey { layout.storedChecksum = v.stringValue ?? "not a string"; continue }
                    if let s = v.stringValue { layout.metadata[k] = s }
                    kept.append((k, v))
                }
                if !kept.isEmpty { covered.append((name, .object(kept))) }
                continue
            }
            covered.append((name, info))
            func bad(_ why: String) -> FormatError { FormatError(message: "tensor \(name): \(why)") }
            guard names.insert(name).inserted else { throw bad("appears twice in the header") }
            guard info.objectValue != nil else { throw bad("expected an object with dtype, shape and data_offsets, got \(info.brief)") }
            guard let dts = info["dtype"]?.stringValue else { throw bad("dtype \(info["dtype"]?.brief ?? "missing"), expected a string") }
            guard let dtype = Entry.DType(rawValue: dts) else {
                throw bad("unsupported dtype \(dts) (nntrain reads \(Entry.DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let shapeJ = info["shape"]?.arrayValue else { throw bad("missing shape") }
            var shape: [Int] = []
            var elements = 1
            for d in shapeJ {
                guard let x = wholeNumber(d) else { throw bad("shape \(info["shape"]?.serialized(indent: 0) ?? "") is not a list of whole numbers >= 0") }
                shape.append(x)
                let (product, overflow) = elements.multipliedReportingOverflow(by: x)
                guard !overflow else { throw bad("shape \(info["shape"]?.serialized(indent: 0) ?? "") has too many elements") }
                elements = product
            }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, byteCount <= available else {
                throw bad("shape \(shape) of \(dts) needs more bytes than the file's \(available) bytes of data")
            }
            guard let offs = info["data_offsets"]?.arrayValue, offs.count == 2, let b = wholeNumber(offs[0]), let e = wholeNumber(offs[1]), b <= e else {
                throw bad("data_offsets \(info["data_offsets"]?.serialized(indent: 0) ?? "missing"), expected [begin, end] with begin <= end")
            }
            guard e <= available else { throw bad("data_offsets [\(b), \(e)] run past the end of the data (\(available) bytes)") }
            guard e - b == byteCount else {
                throw bad("data_offsets [\(b), \(e)] hold \(e - b) bytes, but shape \(shape) of \(dts) is \(byteCount) bytes")
            }
            layout.tensors.append(.init(name: name, dtype: dtype, shape: shape, elements: elements, begin: b, end: e))
        }
        // Back to back from byte 0, as the reference implementation requires: no two tensors
        // share bytes (empty tensors take none) and no byte is left between them.
        let sorted = layout.tensors.filter { $0.end > $0.begin }.sorted { $0.begin < $1.begin }
        var position = 0
        for (i, t) in sorted.enumerated() {
            if t.begin < position, i > 0 {
                let a = sorted[i - 1]
                throw FormatError(message: "tensors \(a.name) [\(a.begin), \(a.end)] and \(t.name) [\(t.begin), \(t.end)] overlap in the data")
            }
            if t.begin > position {
                throw FormatError(message: "tensor \(t.name): data_offsets [\(t.begin), \(t.end)] leave bytes \(position)..<\(t.begin) of the data unused (tensors are stored back to back from byte 0)")
            }
            position = t.end
        }
        layout.dataEnd = position
        if let dataCount, dataCount > position {
            throw FormatError(message: "has \(dataCount - position) bytes after its last tensor (the header describes \(position) bytes of data, the file holds \(dataCount))")
        }
        layout.covered = .object(covered)
        return layout
    }

    /// The tensors of `layout` from `data` (the bytes after the header, at least `dataEnd`).
    static func entries(_ layout: Layout, data: UnsafeRawBufferPointer) -> [Entry] {
        precondition(data.count >= layout.dataEnd, "Safetensors: data shorter than its checked layout")
        var entries: [Entry] = []
        for t in layout.tensors {
            var entry = Entry(name: t.name, shape: t.shape, values: [])
            entry.dtype = t.dtype
            let start = t.begin
            func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
                T(littleEndian: data.loadUnaligned(fromByteOffset: start + i * MemoryLayout<T>.size, as: T.self))
            }
            let n = t.elements
            switch t.dtype {
            case .f32: entry.values = (0..<n).map { Float(bitPattern: load($0, UInt32.self)) }
            case .f64: entry.values = (0..<n).map { Float(Double(bitPattern: load($0, UInt64.self))) }
            case .f16: entry.values = (0..<n).map { halfToFloat(load($0, UInt16.self)) }
            case .bf16: entry.values = (0..<n).map { Float(bitPattern: UInt32(load($0, UInt16.self)) << 16) }
            case .i64, .u64: entry.integers = (0..<n).map { load($0, UInt64.self) }
            case .i32: entry.integers = (0..<n).map { UInt64(bitPattern: Int64(Int32(bitPattern: load($0, UInt32.self)))) }
            case .i16: entry.integers = (0..<n).map { UInt64(bitPattern: Int64(Int16(bitPattern: load($0, UInt16.self)))) }
            case .i8: entry.integers = (0..<n).map { UInt64(bitPattern: Int64(Int8(bitPattern: load($0, UInt8.self)))) }
            case .u8: entry.integers = (0..<n).map { UInt64(load($0, UInt8.self)) }
            case .bool: entry.integers = (0..<n).map { load($0, UInt8.self) != 0 ? 1 : 0 }
            }
            if !t.dtype.isFloatingPoint {
                entry.values = t.dtype.isSigned ? entry.integers.map { Float(Int64(bitPattern: $0)) } : entry.integers.map { Float($0) }
            }
            entries.append(entry)
        }
        return entries
    }

    /// Whether the stored checksum matches the header and data (nil: the file has none).
    static func checksumMatches(_ layout: Layout, data: ArraySlice<UInt8>) -> Bool? {
        guard let stored = layout.storedChecksum else { return nil }
        var crc = CRC32()
        crc.update(Array(layout.covered.serialized(indent: 0).utf8))
        crc.update(data)
        return crc.hex == stored
    }

    /// The length in the first 8 bytes, checked against the header limit and the file size.
    static func headerLength(_ head: [UInt8], fileSize: Int?) throws(FormatError) -> Int {
        guard head.count >= 8 else {
            throw FormatError(message: "file is \(head.count) bytes, too short for a safetensors header", isNotSafetensors: true)
        }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = (n << 8) | UInt64(head[i]) }
        if let size = fileSize, n > UInt64(size - 8) {
            throw FormatError(message: "header length \(n) exceeds the file size \(size)", isNotSafetensors: true)
        }
        guard n <= UInt64(maxHeaderBytes) else {
            throw FormatError(message: "header length \(n) is more than the \(maxHeaderBytes)-byte limit", isNotSafetensors: true)
        }
        return Int(n)
    }

    /// Decodes a file's bytes; every offset and shape is checked against the data before use.
    public static func decode(_ bytes: [UInt8]) throws(FormatError) -> (entries: [Entry], metadata: [String: String]) {
        let file = try decodeFile(bytes)
        return (file.entries, file.metadata)
    }

    /// `decode`, with what the checksum said.
    public static func decodeFile(_ bytes: [UInt8]) throws(FormatError) -> File {
        let n = try headerLength(Array(bytes.prefix(8)), fileSize: bytes.count)
        let headerEnd = 8 + n
        let layout = try Safetensors.layout(header: Array(bytes[8..<headerEnd]), dataCount: bytes.count - headerEnd)
        let entries = bytes.withUnsafeBytes { raw in Safetensors.entries(layout, data: UnsafeRawBufferPointer(rebasing: raw[headerEnd...])) }
        return File(entries: entries, metadata: layout.metadata, checksumMatches: checksumMatches(layout, data: bytes[headerEnd...]))
    }
}
