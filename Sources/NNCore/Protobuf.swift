/// The protocol-buffer wire format, as much as TensorBoard's event files need: fields are a key
/// (`field << 3 | wire type`, a varint) and a value — a varint (0), 8 little-endian bytes (1),
/// a length-prefixed byte string or message (2), 4 little-endian bytes (5).
public enum Protobuf {
    public static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    public static func appendKey(_ field: Int, wireType: Int, to out: inout [UInt8]) {
        appendVarint(UInt64(field << 3 | wireType), to: &out)
    }

    /// An int64 field (two's complement, as protobuf encodes a negative int64: ten bytes).
    public static func appendInt64(_ field: Int, _ v: Int64, to out: inout [UInt8]) {
        appendKey(field, wireType: 0, to: &out)
        appendVarint(UInt64(bitPattern: v), to: &out)
    }

    /// A double field (fixed64).
    public static func appendDouble(_ field: Int, _ v: Double, to out: inout [UInt8]) {
        appendKey(field, wireType: 1, to: &out)
        var bits = v.bitPattern
        for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: bits)); bits >>= 8 }
    }

    /// A float field (fixed32).
    public static func appendFloat(_ field: Int, _ v: Float, to out: inout [UInt8]) {
        appendKey(field, wireType: 5, to: &out)
        var bits = v.bitPattern
        for _ in 0..<4 { out.append(UInt8(truncatingIfNeeded: bits)); bits >>= 8 }
    }

    /// A string, bytes or embedded-message field.
    public static func appendBytes<C: Collection>(_ field: Int, _ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        appendKey(field, wireType: 2, to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    /// One field read back: its number, wire type, and value (the varint or the fixed bits for
    /// wire types 0, 1, 5; the byte range within the message for 2).
    public struct Field: Equatable, Sendable {
        public var number: Int
        public var wireType: Int
        public var value: UInt64
        public var bytes: Range<Int>
    }

    /// The fields of a message, in order; nil when the bytes are not a well-formed message.
    public static func fields(_ m: [UInt8]) -> [Field]? {
        var out: [Field] = []
        var i = 0
        func varint() -> UInt64? {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while i < m.count, shift < 64 {
                let b = m[i]; i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
            return nil
        }
        func fixed(_ n: Int) -> UInt64? {
            guard m.count - i >= n else { return nil }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(m[i + k]) << (8 * UInt64(k)) }
            i += n
            return v
        }
        while i < m.count {
            guard let key = varint(), key >> 3 > 0, key >> 3 < 1 << 29 else { return nil }
            let number = Int(key >> 3), wire = Int(key & 7)
            switch wire {
            case 0: guard let v = varint() else { return nil }; out.append(Field(number: number, wireType: 0, value: v, bytes: i..<i))
            case 1: guard let v = fixed(8) else { return nil }; out.append(Field(number: number, wireType: 1, value: v, bytes: i..<i))
            case 5: guard let v = fixed(4) else { return nil }; out.append(Field(number: number, wireType: 5, value: v, bytes: i..<i))
            case 2:
                guard let n = varint(), n <= UInt64(m.count - i) else { return nil }
                out.append(Field(number: number, wireType: 2, value: n, bytes: i..<i + Int(n)))
                i += Int(n)
            default: return nil
            }
        }
        return out
    }
}
