/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
/// 8 bytes little-endian header length N, N bytes of JSON header
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the raw little-endian tensor data. F32, I32 and U64 are read and written.
public enum Safetensors {
    /// One named tensor. F32 tensors carry `values`; I32 and U64 tensors (checkpoint
    /// bookkeeping: sample order, generator states) carry their integers in `integers`.
    public struct Entry: Sendable, Equatable {
        public enum DType: String, Sendable { case f32 = "F32", i32 = "I32", u64 = "U64" }
        public var name: String
        public var shape: [Int]
        public var dtype: DType
        public var values: [Float]
        public var integers: [UInt64]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name; self.shape = shape; self.values = values; dtype = .f32; integers = []
        }

        public init(name: String, int32s: [Int32]) {
            self.name = name; shape = [int32s.count]; dtype = .i32; values = []
            integers = int32s.map { UInt64(UInt32(bitPattern: $0)) }
        }

        public init(name: String, uint64s: [UInt64]) {
            self.name = name; shape = [uint64s.count]; dtype = .u64; values = []; integers = uint64s
        }

        public var int32s: [Int32] { integers.map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) } }
        var elementSize: Int { dtype == .u64 ? 8 : 4 }
        var count: Int { dtype == .f32 ? values.count : integers.count }
    }

    public struct FormatError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static func encode(_ entries: [Entry], metadata: [(String, String)] = []) -> [UInt8] {
        var header: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            header.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) })))
        }
        var offset = 0
        for e in entries {
            precondition(e.shape.reduce(1, *) == e.count, "Safetensors: \(e.name) shape/values mismatch")
            let bytes = e.count * e.elementSize
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
        var n = UInt64(headerBytes.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        out += headerBytes
        for e in entries {
            switch e.dtype {
            case .f32:
                for v in e.values {
                    var bits = v.bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
                }
            case .i32:
                for v in e.integers {
                    var bits = UInt32(truncatingIfNeeded: v).littleEndian
                    withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
                }
            case .u64:
                for v in e.integers {
                    var bits = v.littleEndian
                    withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }

    /// Decodes a file's bytes; every offset and shape is checked against the data before use.
    public static func decode(_ bytes: [UInt8]) throws(FormatError) -> (entries: [Entry], metadata: [String: String]) {
        guard bytes.count >= 8 else { throw FormatError(message: "file is \(bytes.count) bytes, too short for a safetensors header") }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = (n << 8) | UInt64(bytes[i]) }
        guard n <= UInt64(bytes.count - 8), n < 100_000_000 else {
            throw FormatError(message: "header length \(n) exceeds the file size \(bytes.count)")
        }
        let headerEnd = 8 + Int(n)
        let header: JSONValue
        do { header = try JSONValue.parse(Array(bytes[8..<headerEnd])) } catch {
            throw FormatError(message: "header is not valid JSON (\(error))")
        }
        guard case .object(let pairs) = header else { throw FormatError(message: "header is not a JSON object") }
        let dataCount = bytes.count - headerEnd
        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (name, info) in pairs {
            if name == "__metadata__" {
                for (k, v) in info.objectValue ?? [] { if let s = v.stringValue { metadata[k] = s } }
                continue
            }
            guard let dts = info["dtype"]?.stringValue, let dtype = Entry.DType(rawValue: dts) else {
                throw FormatError(message: "tensor \(name): dtype \(info["dtype"]?.brief ?? "missing") is not supported (F32, I32, U64)")
            }
            let size = dtype == .u64 ? 8 : 4
            guard let shapeJ = info["shape"]?.arrayValue, let offs = info["data_offsets"]?.arrayValue, offs.count == 2 else {
                throw FormatError(message: "tensor \(name): missing shape or data_offsets")
            }
            var shape: [Int] = []
            var count = 1
            for d in shapeJ {
                guard let x = d.doubleValue, x >= 0, x == x.rounded(), x < 1e9 else {
                    throw FormatError(message: "tensor \(name): invalid shape")
                }
                shape.append(Int(x))
                count = count.multipliedReportingOverflow(by: Int(x)).partialValue
            }
            guard let b = offs[0].doubleValue, let e = offs[1].doubleValue, b >= 0, e >= b, e <= Double(dataCount),
                  Int(e) - Int(b) == count * size else {
                throw FormatError(message: "tensor \(name): data_offsets do not match its shape or the file size")
            }
            let start = headerEnd + Int(b)
            func word(_ p: Int) -> UInt32 {
                UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
            }
            var entry = Entry(name: name, shape: shape, values: [])
            entry.dtype = dtype
            switch dtype {
            case .f32: entry.values = (0..<count).map { Float(bitPattern: word(start + 4 * $0)) }
            case .i32: entry.integers = (0..<count).map { UInt64(word(start + 4 * $0)) }
            case .u64: entry.integers = (0..<count).map { UInt64(word(start + 8 * $0)) | UInt64(word(start + 8 * $0 + 4)) << 32 }
            }
            entries.append(entry)
        }
        return (entries, metadata)
    }
}
