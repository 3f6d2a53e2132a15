import CZlib

/// gzip/zlib decompression through the system zlib.
public enum Gzip {
    /// True when `bytes` start with the gzip magic number 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// Inflates every gzip member of `bytes`; refuses output larger than `limit` bytes.
    public static func decompress(_ bytes: [UInt8], file: String, limit: Int = 1 << 32) throws(DataError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(limit, bytes.count * 4))
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var position = 0
        while position < bytes.count {
            var stream = z_stream()
            // 15 + 32: zlib or gzip header, detected automatically.
            guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw DataError(file: file, "zlib could not start")
            }
            defer { inflateEnd(&stream) }
            var status: Int32 = Z_OK
            let consumed: Int = try bytes.withUnsafeBufferPointer { (input) throws(DataError) -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + position)
                stream.avail_in = UInt32(input.count - position)
                repeat {
                    let produced: Int = chunk.withUnsafeMutableBufferPointer { buf in
                        stream.next_out = buf.baseAddress
                        stream.avail_out = UInt32(buf.count)
                        status = inflate(&stream, Z_NO_FLUSH)
                        return buf.count - Int(stream.avail_out)
                    }
                    if status != Z_OK && status != Z_STREAM_END {
                        if status == Z_BUF_ERROR && stream.avail_in == 0 {
                            throw DataError(file: file, "gzip data is truncated (unexpected end of compressed stream)")
                        }
                        let msg = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                        throw DataError(file: file, "gzip data is corrupt (\(msg))")
                    }
                    if out.count + produced > limit {
                        throw DataError(file: file, "decompresses to more than \(limit) bytes")
                    }
                    out.append(contentsOf: chunk[0..<produced])
                } while status != Z_STREAM_END
                return input.count - position - Int(stream.avail_in)
            }
            position += consumed
            // Trailing zero padding after the last member is allowed (some tools write it).
            if position < bytes.count && bytes[position...].allSatisfy({ $0 == 0 }) { break }
        }
        return out
    }
}
