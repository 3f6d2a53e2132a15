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

    public static func encode(_ entries: [Entry], metadata: [(String, String)] = []) -> [UInt8] {
        var header: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            header.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) })))
        }
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
        var headerBytes = Array(JSONValue.object(header).serialized(indent: 0).utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        func append(_ v: UInt64, bytes: Int) {
            var n = v
            for _ in 0..<bytes { out.append(UInt8(n & 0xFF)); n >>= 8 }
        }
        append(UInt64(headerBytes.count), bytes: 8)
        out += headerBytes
        for e in entries {
            switch e.dtype {
            case .f32: for v in e.values { append(UInt64(v.bitPattern), bytes: 4) }
            case .f64: for v in e.values { append(Double(v).bitPattern, bytes: 8) }
            case .bf16: for v in e.values { append(UInt64(bfloat16Bits(v)), bytes: 2) }
            case .f16: break
            default: for v in e.integers { append(v, bytes: e.dtype.size) }
            }
        }
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
        return Int(d)
    }

    /// Decodes a file's bytes; every offset and shape is checked against the data before use.
    public static func decode(_ bytes: [UInt8]) throws(FormatError) -> (entries: [Entry], metadata: [String: String]) {
        guard bytes.count >= 8 else {
            throw FormatError(message: "file is \(bytes.count) bytes, too short for a safetensors header", isNotSafetensors: true)
        }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = (n << 8) | UInt64(bytes[i]) }
        guard n <= UInt64(bytes.count - 8), n < 100_000_000 else {
            throw FormatError(message: "header length \(n) exceeds the file size \(bytes.count)", isNotSafetensors: true)
        }
        let headerEnd = 8 + Int(n)
        let header: JSONValue
        do { header = try JSONValue.parse(Array(bytes[8..<headerEnd])) } catch {
            throw FormatError(message: "header is not valid JSON (\(error))", isNotSafetensors: true)
        }
        guard case .object(let pairs) = header else {
            throw FormatError(message: "header is not a JSON object", isNotSafetensors: true)
        }
        let dataCount = bytes.count - headerEnd
        var entries: [Entry] = []
        var ranges: [(begin: Int, end: Int, name: String)] = []
        var names = Set<String>()
        var metadata: [String: String] = [:]
        for (name, info) in pairs {
            if name == "__metadata__" {
                for (k, v) in info.objectValue ?? [] { if let s = v.stringValue { metadata[k] = s } }
                continue
            }
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
            guard !overflow, byteCount <= dataCount else {
                throw bad("shape \(shape) of \(dts) needs more bytes than the file's \(dataCount) bytes of data")
            }
            guard let offs = info["data_offsets"]?.arrayValue, offs.count == 2, let b = wholeNumber(offs[0]), let e = wholeNumber(offs[1]), b <= e else {
                throw bad("data_offsets \(info["data_offsets"]?.serialized(indent: 0) ?? "missing"), expected [begin, end] with begin <= end")
            }
            guard e <= dataCount else { throw bad("data_offsets [\(b), \(e)] run past the end of the data (\(dataCount) bytes)") }
            guard e - b == byteCount else {
                throw bad("data_offsets [\(b), \(e)] hold \(e - b) bytes, but shape \(shape) of \(dts) is \(byteCount) bytes")
            }
            ranges.append((b, e, name))
            var entry = Entry(name: name, shape: shape, values: [])
            entry.dtype = dtype
            let start = headerEnd + b
            bytes.withUnsafeBytes { raw in
                func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
                    T(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * MemoryLayout<T>.size, as: T.self))
                }
                switch dtype {
                case .f32: entry.values = (0..<elements).map { Float(bitPattern: load($0, UInt32.self)) }
                case .f64: entry.values = (0..<elements).map { Float(Double(bitPattern: load($0, UInt64.self))) }
                case .f16: entry.values = (0..<elements).map { halfToFloat(load($0, UInt16.self)) }
                case .bf16: entry.values = (0..<elements).map { Float(bitPattern: UInt32(load($0, UInt16.self)) << 16) }
                case .i64, .u64: entry.integers = (0..<elements).map { load($0, UInt64.self) }
                case .i32: entry.integers = (0..<elements).map { UInt64(bitPattern: Int64(Int32(bitPattern: load($0, UInt32.self)))) }
                case .i16: entry.integers = (0..<elements).map { UInt64(bitPattern: Int64(Int16(bitPattern: load($0, UInt16.self)))) }
                case .i8: entry.integers = (0..<elements).map { UInt64(bitPattern: Int64(Int8(bitPattern: load($0, UInt8.self)))) }
                case .u8: entry.integers = (0..<elements).map { UInt64(load($0, UInt8.self)) }
                case .bool: entry.integers = (0..<elements).map { load($0, UInt8.self) != 0 ? 1 : 0 }
                }
            }
            if !dtype.isFloatingPoint {
                entry.values = dtype.isSigned ? entry.integers.map { Float(Int64(bitPattern: $0)) } : entry.integers.map { Float($0) }
            }
            entries.append(entry)
        }
        // Two tensors may not share bytes (empty tensors take none).
        let sorted = ranges.filter { $0.end > $0.begin }.sorted { $0.begin < $1.begin }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.begin < a.end {
            throw FormatError(message: "tensors \(a.name) [\(a.begin), \(a.end)] and \(b.name) [\(b.begin), \(b.end)] overlap in the data")
        }
        return (entries, metadata)
    }
}
