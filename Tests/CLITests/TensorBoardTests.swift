import Foundation
import NNCore
import Testing

/// An event of a TensorBoard event file, parsed here from the bytes (TFRecord framing and the
/// `Event` proto fields) independently of the writer's code.
private struct ParsedEvent {
    var wallTime = 0.0
    var step: Int64 = 0
    var fileVersion: String?
    var values: [(tag: String, value: Float)] = []
}

private func masked(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    let crc = CRC32C.checksum(bytes)
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
}

private func le(_ b: ArraySlice<UInt8>) -> UInt64 {
    b.reversed().reduce(0) { $0 << 8 | UInt64($1) }
}

/// A message's fields: (number, wire type, varint or fixed value, bytes of a length-delimited one).
private func fields(_ m: ArraySlice<UInt8>) throws -> [(Int, Int, UInt64, ArraySlice<UInt8>)] {
    var out: [(Int, Int, UInt64, ArraySlice<UInt8>)] = []
    var i = m.startIndex
    func varint() throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard i < m.endIndex else { throw CLIError(message: "varint past the end") }
            let b = m[i]; i += 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }
    while i < m.endIndex {
        let key = try varint()
        switch Int(key & 7) {
        case 0: out.append((Int(key >> 3), 0, try varint(), []))
        case 1: out.append((Int(key >> 3), 1, le(m[i..<i + 8]), [])); i += 8
        case 5: out.append((Int(key >> 3), 5, le(m[i..<i + 4]), [])); i += 4
        case 2:
            let n = Int(try varint())
            out.append((Int(key >> 3), 2, UInt64(n), m[i..<i + n])); i += n
        default: throw CLIError(message: "wire type \(key & 7)")
        }
    }
    return out
}

/// Every record of an event file, checked: lengths, both masked CRCs, no trailing bytes.
private func events(_ path: String) throws -> [ParsedEvent] {
    let b = try FileIO.read(path)
    var i = 0
    var out: [ParsedEvent] = []
    while i < b.count {
        try #require(b.count - i >= 16)
        let n = Int(le(b[i..<i + 8]))
        #expect(masked(b[i..<i + 8]) == UInt32(le(b[i + 8..<i + 12])), "length CRC of the record at \(i)")
        try #require(i + 16 + n <= b.count)
        let data = b[i + 12..<i + 12 + n]
        #expect(masked(data) == UInt32(le(b[i + 12 + n..<i + 16 + n])), "data CRC of the record at \(i)")
        var e = ParsedEvent()
        for (number, wire, v, bytes) in try fields(data) {
            switch (number, wire) {
            case (1, 1): e.wallTime = Double(bitPattern: v)
            case (2, 0): e.step = Int64(bitPattern: v)
            case (3, 2): e.fileVersion = String(decoding: bytes, as: UTF8.self)
            case (5, 2):
                for (n, w, _, value) in try fields(bytes) where n == 1 && w == 2 {
                    var tag = "", x = Float.nan
                    for (vn, vw, vv, vb) in try fields(value) {
                        if vn == 1 && vw == 2 { tag = String(decoding: vb, as: UTF8.self) }
                        if vn == 2 && vw == 5 { x = Float(bitPattern: UInt32(vv)) }
                    }
                    e.values.append((tag, x))
                }
            default: Issue.record("unexpected field \(number) (wire type \(wire))")
            }
        }
        out.append(e)
        i += 16 + n
    }
    return out
}

private func eventFiles(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("events.out.tfevents.") }.sorted()
}

/// The scalars the CSV files say the events must hold: tag → step → value (float32).
private func expectedScalars(_ dir: String) throws -> [String: [Int64: Float]] {
    var out: [String: [Int64: Float]] = [:]
    // lr is a Float written as text; the others are Doubles the writer rounds to Float.
    func value(_ column: String, _ text: String) -> Float { column == "lr" ? Float(text)! : Float(Double(text)!) }
    func rows(_ file: String) throws -> [[String: String]] {
        let lines = try read(dir + "/" + file).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }
    for r in try rows("steps.csv") {
        for c in ["loss", "lr", "grad_norm"] where r[c] != "" { out["step/" + c, default: [:]][Int64(r["step"]!)!] = value(c, r[c]!) }
    }
    for r in try rows("curves.csv") {
        for c in ["loss", "accuracy", "val_loss", "val_accuracy", "lr"] where (r[c] ?? "") != "" {
            out[c, default: [:]][Int64(r["step"]!)!] = value(c, r[c]!)
        }
    }
    return out
}

/// The events of a run directory hold exactly the CSV files' scalars, each step once per tag.
private func expectEventsMatchCSV(_ dir: String) throws {
    let files = eventFiles(dir)
    try #require(files.count == 1, "event files: \(files)")
    let name = files[0]
    #expect(name.split(separator: ".").count >= 5 && Int(name.split(separator: ".")[3]) != nil, "\(name)")
    let evs = try events(dir + "/" + name)
    try #require(!evs.isEmpty)
    #expect(evs[0].fileVersion == "brain.Event:2" && evs[0].values.isEmpty)
    #expect(evs.dropFirst().allSatisfy { $0.fileVersion == nil && !$0.values.isEmpty && $0.wallTime > 1.5e9 })
    var got: [String: [Int64: Float]] = [:]
    for e in evs.dropFirst() {
        for (tag, v) in e.values {
            #expect(got[tag]?[e.step] == nil, "\(tag) written twice at step \(e.step)")
            got[tag, default: [:]][e.step] = v
        }
    }
    let want = try expectedScalars(dir)
    #expect(Set(got.keys) == ["step/loss", "step/lr", "step/grad_norm", "loss", "accuracy", "val_loss", "val_accuracy", "lr"])
    #expect(got == want)
}

@Test func tensorboardEventsHoldTheStepAndEpochRows() throws {
    let dir = tempDir("tensorboard")
    let r = try nntrain(["run", "configs/quickstart.json", "--tensorboard", "--out", dir, "--quiet", "--set", "training.epochs=2"])
    try #require(r.status == 0, "\(r.stderr)")
    try expectEventsMatchCSV(dir)
    #expect(try read(dir + "/config.json").contains(#""tensorboard": true"#))
    // Without the flag (the default) a run writes none, and replacing a run removes its events.
    let again = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--force", "--quiet", "--set", "training.epochs=1"])
    try #require(again.status == 0, "\(again.stderr)")
    #expect(eventFiles(dir).isEmpty)
    #expect(try read(dir + "/config.json").contains(#""tensorboard": false"#))
}

@Test func resumedRunContinuesTheEventFileWithoutDuplicates() throws {
    let dir = tempDir("tensorboard-resume")
    let r = try nntrain(["run", "configs/quickstart.json", "--set", "output.tensorboard=true", "--out", dir, "--quiet", "--set", "training.epochs=2"])
    try #require(r.status == 0, "\(r.stderr)")
    // Events written after the checkpoint (a run killed between a row and the next
    // checkpoint), and a torn record: both must go on resume.
    let path = dir + "/" + eventFiles(dir)[0]
    var extra: [UInt8] = []
    var event: [UInt8] = []
    Protobuf.appendDouble(1, 2e9, to: &event)
    Protobuf.appendInt64(2, 1_000_000, to: &event)
    var value: [UInt8] = []
    Protobuf.appendBytes(1, Array("step/loss".utf8), to: &value)
    Protobuf.appendFloat(2, 9, to: &value)
    var summary: [UInt8] = []
    Protobuf.appendBytes(1, value, to: &summary)
    Protobuf.appendBytes(5, summary, to: &event)
    TFRecord.append(event, to: &extra)
    TFRecord.append(event, to: &extra)
    let h = try #require(FileHandle(forWritingAtPath: path))
    h.seekToEndOfFile()
    h.write(Data(extra.dropLast(5)))
    h.closeFile()
    let resumed = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=3"])
    try #require(resumed.status == 0, "\(resumed.stderr)")
    try expectEventsMatchCSV(dir)
    #expect(try read(dir + "/curves.csv").split(separator: "\n").count == 4)
}

@Test func resumeTurnsTensorboardOnWithoutForce() throws {
    let dir = tempDir("tensorboard-later")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=1"])
    try #require(r.status == 0, "\(r.stderr)")
    let resumed = try nntrain(["run", "--resume", dir, "--tensorboard", "--quiet", "--set", "training.epochs=2"])
    try #require(resumed.status == 0, "\(resumed.stderr)")
    let files = eventFiles(dir)
    try #require(files.count == 1)
    let evs = try events(dir + "/" + files[0])
    // The events start where the resumed run does: epoch 2's steps and its curves row.
    #expect(evs.first?.fileVersion == "brain.Event:2")
    let firstEpochStep = try #require(Int64(try read(dir + "/curves.csv").split(separator: "\n")[1].split(separator: ",")[1]))
    #expect(evs.dropFirst().allSatisfy { $0.step > firstEpochStep })
    #expect(evs.contains { $0.values.contains { $0.tag == "val_accuracy" } })
}
