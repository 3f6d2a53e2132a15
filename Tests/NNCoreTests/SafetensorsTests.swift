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

// MARK: - Hand-built files (the dtypes PyTorch writes)

/// A safetensors file from raw parts: header JSON text for each tensor and the data bytes.
func safetensorsFile(_ tensors: [(name: String, dtype: String, shape: [Int], data: [UInt8])], metadata: String? = nil) -> [UInt8] {
    var items: [String] = metadata.map { [#""__metadata__": \#($0)"#] } ?? []
    var data: [UInt8] = []
    for t in tensors {
        let shape = "[" + t.shape.map(String.init).joined(separator: ",") + "]"
        items.append(#""\#(t.name)": {"dtype": "\#(t.dtype)", "shape": \#(shape), "data_offsets": [\#(data.count), \#(data.count + t.data.count)]}"#)
        data += t.data
    }
    return rawSafetensors(header: "{" + items.joined(separator: ", ") + "}", data: data)
}

/// 8-byte little-endian header length, the header text, the data.
func rawSafetensors(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    return littleEndian(UInt64(h.count), bytes: 8) + h + data
}

func littleEndian(_ v: UInt64, bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

@Test func readsEveryDtypeTorchWritesAsFloat32() throws {
    // Half precision: bit patterns of values the IEEE 754 binary16 format defines exactly.
    let halves: [(UInt16, Float)] = [(0x3E00, 1.5), (0xC000, -2), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24),
                                     (0x3555, 1365 * 0x1p-12), (0x7C00, .infinity), (0x8000, -0.0)]
    // bfloat16 is the top half of a float32: exact for these values.
    let bf: [Float] = [1.5, -0.15625, 3 * 0x1p100, 0x1p-120]
    let doubles: [Double] = [0.1, -2.5, 1e-3]
    let file = safetensorsFile([
        ("h", "F16", [2, 4], halves.flatMap { littleEndian(UInt64($0.0), bytes: 2) }),
        ("b", "BF16", [4], bf.flatMap { littleEndian(UInt64($0.bitPattern >> 16), bytes: 2) }),
        ("d", "F64", [3], doubles.flatMap { littleEndian($0.bitPattern, bytes: 8) }),
        ("layers.2.num_batches_tracked", "I64", [], littleEndian(UInt64(bitPattern: 7), bytes: 8)),
        ("l", "I64", [3], [Int64(-3), 0, 1 << 40].flatMap { littleEndian(UInt64(bitPattern: $0), bytes: 8) }),
        ("i", "I32", [2], [Int32(-1), 5].flatMap { littleEndian(UInt64(UInt32(bitPattern: $0)), bytes: 4) }),
        ("s", "I16", [1], littleEndian(UInt64(UInt16(bitPattern: -300)), bytes: 2)),
        ("c", "I8", [2], [0x80, 0x7F]),
        ("u", "U8", [1], [255]),
        ("m", "BOOL", [3], [0, 1, 1]),
    ])
    let (entries, _) = try Safetensors.decode(file)
    let e = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
    #expect(e["h"]?.shape == [2, 4] && e["h"]?.dtype == .f16)
    #expect(e["h"]?.values.map(\.bitPattern) == halves.map { $0.1.bitPattern })
    #expect(e["b"]?.values == bf)
    #expect(e["d"]?.values == doubles.map { Float($0) })
    let counter = e["layers.2.num_batches_tracked"]
    #expect(counter?.shape == [] && counter?.dtype == .i64 && counter?.values == [7] && counter?.integers == [7])
    #expect(e["l"]?.values == [-3, 0, 0x1p40] && e["l"]?.integers.map { Int64(bitPattern: $0) } == [-3, 0, 1 << 40])
    #expect(e["i"]?.values == [-1, 5] && e["i"]?.int32s == [-1, 5])
    #expect(e["s"]?.values == [-300] && e["c"]?.values == [-128, 127] && e["u"]?.values == [255] && e["m"]?.values == [0, 1, 1])
}

@Test func writesI64ScalarsF64AndBFloat16AndReadsThemBack() throws {
    let entries = [
        Safetensors.Entry(name: "layers.2.num_batches_tracked", shape: [], int64s: [123_456_789_012]),
        Safetensors.Entry(name: "order", int32s: [3, -1, 2]),
        Safetensors.Entry(name: "rng", uint64s: [UInt64.max, 1]),
    ]
    var f64 = Safetensors.Entry(name: "d", shape: [2], values: [0.1, -7])
    f64.dtype = .f64
    var bf16 = Safetensors.Entry(name: "b", shape: [2], values: [1.5, 1 + 0x1p-9])  // 1 + 2⁻⁹ rounds to even: 1
    bf16.dtype = .bf16
    let bytes = Safetensors.encode(entries + [f64, bf16])
    let header = String(decoding: bytes[8..<(8 + Int(bytes[0]) + 256 * Int(bytes[1]))], as: UTF8.self)
    #expect(header.contains(#""layers.2.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0, 8]}"#), "\(header)")
    let decoded = try Safetensors.decode(bytes).entries
    #expect(decoded[0].integers == [123_456_789_012] && decoded[0].shape == [] && decoded[0].dtype == .i64)
    #expect(decoded[1].int32s == [3, -1, 2] && decoded[1].values == [3, -1, 2])
    #expect(decoded[2].integers == [UInt64.max, 1])
    #expect(decoded[3].dtype == .f64 && decoded[3].values == [0.1, -7])
    #expect(decoded[4].dtype == .bf16 && decoded[4].values == [1.5, 1])
}

/// (header, data bytes, the message, whether the file is "not a safetensors file").
let malformedFiles: [(String, Int, String, Bool)] = [
    (#"{"w": {"dtype": "F32", "shape": [999999999, 999999999, 999999999], "data_offsets": [0, 8]}}"#, 8,
     "tensor w: shape [999999999, 999999999, 999999999] has too many elements", false),
    // 2⁶² elements fit an Int, their 2⁶⁵ bytes do not.
    (#"{"w": {"dtype": "F64", "shape": [1125899906842624, 4096], "data_offsets": [0, 8]}}"#, 8,
     "tensor w: shape [1125899906842624, 4096] of F64 needs more bytes than the file's 8 bytes of data", false),
    (#"{"w": {"dtype": "F32", "shape": [1000000000, 1000000000], "data_offsets": [0, 8]}}"#, 8,
     "tensor w: shape [1000000000, 1000000000] of F32 needs more bytes than the file's 8 bytes of data", false),
    (#"{"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}"#, 8,
     "tensor w: unsupported dtype F8_E4M3 (nntrain reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U64)", false),
    (#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}"#, 16,
     "tensor w: data_offsets [0, 8] hold 8 bytes, but shape [4] of F32 is 16 bytes", false),
    (#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}"#, 16,
     "tensor w: data_offsets [12, 20] run past the end of the data (16 bytes)", false),
    (#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#, 16,
     "tensors a [0, 8] and b [4, 12] overlap in the data", false),
    (#"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, 8,
     "tensor w: shape [-1] is not a list of whole numbers >= 0", false),
    (#"{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#, 8,
     "tensor w: shape [1.5] is not a list of whole numbers >= 0", false),
    (#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#, 8,
     "tensor w: data_offsets [4, 0], expected [begin, end] with begin <= end", false),
    (#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, 8,
     "tensor w: appears twice in the header", false),
    (#"{"w": 3}"#, 8, "tensor w: expected an object with dtype, shape and data_offsets, got number 3", false),
    (#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]"#, 8, "header is not valid JSON", true),
    (#"[1, 2]"#, 8, "header is not a JSON object", true),
]

@Test(arguments: malformedFiles.indices)
func malformedFilesGetPreciseMessages(_ i: Int) {
    let (header, dataCount, message, notSafetensors) = malformedFiles[i]
    do {
        _ = try Safetensors.decode(rawSafetensors(header: header, data: [UInt8](repeating: 0, count: dataCount)))
        Issue.record("accepted \(header)")
    } catch {
        #expect(error.message.hasPrefix(message), "\(error.message)")
        #expect(error.isNotSafetensors == notSafetensors)
    }
}

@Test func filesThatAreNotSafetensorsSaySo() {
    for bytes in [Array("just some text, not tensors".utf8), [1, 2, 3]] {
        do {
            _ = try Safetensors.decode(bytes)
            Issue.record("accepted \(bytes)")
        } catch {
            #expect(error.isNotSafetensors, "\(error.message)")
        }
    }
}
