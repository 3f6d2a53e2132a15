import NNCore
import Testing

@Test func crc32cMatchesKnownVectors() {
    // RFC 3720 (iSCSI) B.4 and the usual check value.
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    #expect(CRC32C.checksum(Array(0...31)) == 0x46DD_794E)
    #expect(CRC32C.checksum([UInt8]()) == 0)
    let crc = CRC32C.checksum(Array("123456789".utf8))
    #expect(CRC32C.masked(Array("123456789".utf8)) == ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
}

@Test func protobufFieldsRoundTrip() throws {
    var m: [UInt8] = []
    Protobuf.appendDouble(1, 1.5, to: &m)
    Protobuf.appendInt64(2, 300, to: &m)
    Protobuf.appendInt64(4, -1, to: &m)
    Protobuf.appendBytes(3, Array("brain.Event:2".utf8), to: &m)
    Protobuf.appendFloat(6, 0.25, to: &m)
    // 300 is the varint ac 02 (protobuf's encoding guide).
    #expect(Array(m[9..<12]) == [0x10, 0xAC, 0x02])
    let f = try #require(Protobuf.fields(m))
    #expect(f.map(\.number) == [1, 2, 4, 3, 6])
    #expect(f.map(\.wireType) == [1, 0, 0, 2, 5])
    #expect(Double(bitPattern: f[0].value) == 1.5)
    #expect(f[1].value == 300)
    #expect(Int64(bitPattern: f[2].value) == -1)
    #expect(String(decoding: m[f[3].bytes], as: UTF8.self) == "brain.Event:2")
    #expect(Float(bitPattern: UInt32(f[4].value)) == 0.25)
    #expect(Protobuf.fields(Array(m.dropLast())) == nil)
    #expect(Protobuf.fields([0x0A, 0x05, 0x01]) == nil)
}

@Test func tfRecordsRoundTripAndStopAtATornEnd() {
    var file: [UInt8] = []
    TFRecord.append(Array("first".utf8), to: &file)
    TFRecord.append([], to: &file)
    TFRecord.append(Array(repeating: 7, count: 300), to: &file)
    #expect(file.count == 16 * 3 + 5 + 300)
    // Length as uint64 LE, then the masked CRC of those 8 bytes.
    #expect(Array(file[0..<8]) == [5, 0, 0, 0, 0, 0, 0, 0])
    let lengthCRC = CRC32C.masked(file[0..<8])
    #expect(Array(file[8..<12]) == (0..<4).map { UInt8(truncatingIfNeeded: lengthCRC >> (8 * UInt32($0))) })
    let whole = TFRecord.records(file)
    #expect(whole.records == [Array("first".utf8), [], Array(repeating: 7, count: 300)])
    #expect(whole.end == file.count)
    let torn = TFRecord.records(Array(file.dropLast(3)))
    #expect(torn.records.count == 2 && torn.end == 16 + 5 + 16)
    var corrupt = file
    corrupt[14] ^= 1   // a byte of the first record's data
    #expect(TFRecord.records(corrupt).records.isEmpty)
    // Every truncation (a write torn anywhere, e.g. after a record's 12-byte header) reads the
    // whole records before the cut and stops there, without trapping.
    let ends = [0, 21, 37, file.count]
    for cut in 0...file.count {
        let r = TFRecord.records(Array(file.prefix(cut)))
        #expect(r.end == ends.last { $0 <= cut }, "cut at \(cut)")
        #expect(r.records.count == ends.filter { $0 > 0 && $0 <= cut }.count, "cut at \(cut)")
    }
}
