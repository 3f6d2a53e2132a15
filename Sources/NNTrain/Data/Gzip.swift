import CZlib
import NNCore

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

/// Bytes read front to back in pieces: a file as it is, or inflated.
protocol ByteReader: AnyObject {
    /// Up to `count` bytes into `buffer[start...]`; fewer only at the end.
    func read(into buffer: inout [UInt8], at start: Int, count: Int) throws(DataError) -> Int
}

/// A file's bytes as they are, after `prefix` (bytes already taken from the file to look at).
final class RawReader: ByteReader {
    let file: InputFile
    private var prefix: [UInt8]

    init(_ file: InputFile, prefix: [UInt8]) { self.file = file; self.prefix = prefix }

    func read(into buffer: inout [UInt8], at start: Int, count: Int) throws(DataError) -> Int {
        let fromPrefix = min(count, prefix.count)
        for i in 0..<fromPrefix { buffer[start + i] = prefix[i] }
        prefix.removeFirst(fromPrefix)
        do { return try fromPrefix + file.read(into: &buffer, at: start + fromPrefix, count: count - fromPrefix) } catch {
            throw DataError(file: file.path, error.reason)
        }
    }
}

/// A gzip (or zlib) file inflated piece by piece, member after member, so that a reader can
/// check a header before it commits memory to the rest. Zero padding after the last member
/// is allowed (some tools write it).
final class GzipReader: ByteReader {
    let file: InputFile
    private var stream = z_stream()
    private let input: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 18
    /// Inflating a member (inflateInit done, its end not reached yet).
    private var inMember = false
    private var atEnd = false

    init(_ file: InputFile, prefix: [UInt8]) {
        self.file = file
        input = .allocate(capacity: capacity)
        for (i, b) in prefix.prefix(capacity).enumerated() { input[i] = b }
        stream.next_in = input
        stream.avail_in = UInt32(min(prefix.count, capacity))
    }

    deinit {
        if inMember { inflateEnd(&stream) }
        input.deallocate()
    }

    /// Reads more compressed bytes; false at the end of the file.
    private func refill() throws(DataError) -> Bool {
        let n: Int
        do {
            var chunk = [UInt8](repeating: 0, count: capacity)
            n = try file.read(into: &chunk, at: 0, count: capacity)
            for i in 0..<n { input[i] = chunk[i] }
        } catch {
            throw DataError(file: file.path, error.reason)
        }
        stream.next_in = input
        stream.avail_in = UInt32(n)
        return n > 0
    }

    func read(into buffer: inout [UInt8], at start: Int, count: Int) throws(DataError) -> Int {
        var done = 0
        while done < count && !atEnd {
            if stream.avail_in == 0, try !refill() {
                if inMember { throw DataError(file: file.path, "gzip data is truncated (unexpected end of compressed stream)") }
                atEnd = true
                break
            }
            if !inMember {
                // Between members: zero padding to the end, or the next member's header.
                if stream.next_in.pointee == 0 {
                    while stream.avail_in > 0 && stream.next_in.pointee == 0 { stream.next_in += 1; stream.avail_in -= 1 }
                    if stream.avail_in == 0 { continue }
                    throw DataError(file: file.path, "gzip data is corrupt (bytes after the zero padding that ends the last member)")
                }
                // 15 + 32: zlib or gzip header, detected automatically.
                guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                    throw DataError(file: file.path, "zlib could not start")
                }
                inMember = true
            }
            let want = min(count - done, Int(UInt32.max))
            let inputBefore = stream.avail_in
            let status: Int32 = buffer.withUnsafeMutableBufferPointer { b in
                stream.next_out = b.baseAddress! + start + done
                stream.avail_out = UInt32(want)
                return inflate(&stream, Z_NO_FLUSH)
            }
            let produced = want - Int(stream.avail_out)
            done += produced
            switch status {
            case Z_STREAM_END:
                inflateEnd(&stream)
                inMember = false
            case Z_OK, Z_BUF_ERROR:
                // More input or more room needed: the loop provides either. No progress with
                // both at hand would loop forever, so it is an error.
                if produced == 0 && stream.avail_in == inputBefore && stream.avail_in > 0 {
                    throw DataError(file: file.path, "gzip data is corrupt (inflate makes no progress)")
                }
            default:
                let msg = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw DataError(file: file.path, "gzip data is corrupt (\(msg))")
            }
        }
        return done
    }
}
