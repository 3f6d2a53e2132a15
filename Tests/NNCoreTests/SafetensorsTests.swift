import NNCore
import Testing

@Test func roundTripKeepsNamesShapesAndValues() throws {
    let entries = [
        Safetensors.Entry(name: "layers.1.weight", shape: [2, 3], values: [1, -2, 3.5, 0, 1e-8, -7]),
        Safetensors.Entry(name: "layers.1.bias", shape: [2], values: [0.25, -0.5]),
    ]
    let bytes = Safetensors.encode(entries, metadata: [("format", "pt")])
    // Header length is little-endian; header + 8 is a multiple of 8 (data alignment).
    let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    #expect((8 + n) % 8 == 0)
    #expect(bytes.count == 8 + n + 8 * 4)
    let (decoded, meta) = try Safetensors.decode(bytes)
    #expect(meta["format"] == "pt")
    #expect(decoded.map(\.name) == ["layers.1.weight", "layers.1.bias"])
    #expect(decoded[0].shape == [2, 3] && decoded[0].values == entries[0].values)
    #expect(decoded[1].values == [0.25, -0.5])
}

@Test func readsAFileWrittenBySafetensorsTorch() throws {
    // Written by Tests/NNTrainTests/Fixtures/make_fixtures.py with safetensors.torch.save_file.
    let path = String(#filePath.dropLast("NNCoreTests/SafetensorsTests.swift".count)) + "NNTrainTests/Fixtures/torch_saved.safetensors"
    let (entries, meta) = try Safetensors.decode(try FileIO.read(path))
    #expect(meta["source"] == "safetensors.torch")
    let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
    #expect(byName["layers.1.weight"]?.shape == [2, 3])
    #expect(byName["layers.1.weight"]?.values == [0, 0.25, 0.5, 0.75, 1, 1.25])
    #expect(byName["layers.1.bias"]?.values == [-1.5, 2.25])
}

@Test func corruptFilesAreRejected() {
    let good = Safetensors.encode([Safetensors.Entry(name: "w", shape: [4], values: [1, 2, 3, 4])])
    #expect(throws: Safetensors.FormatError.self) { _ = try Safetensors.decode(Array(good.prefix(5))) }
    #expect(throws: Safetensors.FormatError.self) { _ = try Safetensors.decode(Array(good.dropLast(4))) }
    var hugeHeader = good
    hugeHeader[6] = 0x7F
    #expect(throws: Safetensors.FormatError.self) { _ = try Safetensors.decode(hugeHeader) }
}
