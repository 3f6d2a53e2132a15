/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
/// 8 bytes little-endian header length N, N bytes of JSON header
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the raw little-endian tensor data. Only F32 is written; F32 is read.
public enum Safetensors {
    public struct Entry: Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name; self.shape = shape; self.values = values
        }
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
            precondition(e.shape.reduce(1, *) == e.values.count, "Safetensors: \(e.name) shape/values mismatch")
            let bytes = e.values.count * 4
            header.append((e.name, .object([
                ("dtype", .string("F32")),
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
            for v in e.values {
                var bits = v.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
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
            guard info["dtype"]?.stringValue == "F32" else {
                throw FormatError(message: "tensor \(name): dtype \(info["dtype"]?.brief ?? "missing") is not supported (F32 only)")
            }
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
                  Int(e) - Int(b) == count * 4 else {
                throw FormatError(message: "tensor \(name): data_offsets do not match its shape or the file size")
            }
            var values = [Float](repeating: 0, count: count)
            let start = headerEnd + Int(b)
            for j in 0..<count {
                let p = start + 4 * j
                let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
                values[j] = Float(bitPattern: bits)
            }
            entries.append(Entry(name: name, shape: shape, values: values))
        }
        return (entries, metadata)
    }
}
