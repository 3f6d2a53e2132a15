import NNCore
import Testing

// The ONNX encoders against bytes derived by hand from onnx/onnx.proto's field numbers.

@Test func varintsAreLittleEndianGroupsOfSeven() {
    func varint(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        Protobuf.appendVarint(v, to: &out)
        return out
    }
    #expect(varint(0) == [0x00])
    #expect(varint(1) == [0x01])
    #expect(varint(127) == [0x7F])
    #expect(varint(128) == [0x80, 0x01])
    #expect(varint(300) == [0xAC, 0x02])
    #expect(varint(UInt64(bitPattern: -1)) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    // A key: field 20 (AttributeProto.type), wire type 0 → 160 → a0 01.
    var key: [UInt8] = []
    Protobuf.appendKey(20, wireType: 0, to: &key)
    #expect(key == [0xA0, 0x01])
}

@Test func nodeProtoFieldLayout() {
    // NodeProto { input 1: "x", output 2: "y", name 3: "n", op_type 4: "Relu" }: each a key
    // (field << 3 | 2) and a length.
    let relu = ONNX.node("Relu", inputs: ["x"], outputs: ["y"], name: "n")
    #expect(relu == [0x0A, 1, 0x78, 0x12, 1, 0x79, 0x1A, 1, 0x6E, 0x22, 4, 0x52, 0x65, 0x6C, 0x75])
    // AttributeProto { name 1: "alpha", f 2 (fixed32, key 0x15): 0.5 = 0x3f000000 LE, type 20: FLOAT 1 }.
    let alpha: [UInt8] = [0x0A, 5] + Array("alpha".utf8) + [0x15, 0x00, 0x00, 0x00, 0x3F, 0xA0, 0x01, 0x01]
    #expect(ONNX.attribute("alpha", .float(0.5)) == alpha)
    // Attributes follow op_type as field 5 (key 0x2a).
    let leaky = ONNX.node("LeakyRelu", inputs: ["x"], outputs: ["y"], name: "n", attributes: [("alpha", .float(0.5))])
    #expect(Array(leaky.suffix(alpha.count + 2)) == [0x2A, UInt8(alpha.count)] + alpha)
    // INTS: one unpacked varint per value under field 8 (key 0x40), type INTS 7; INT: field 3.
    #expect(ONNX.attribute("axes", .ints([2, 3])) == [0x0A, 4] + Array("axes".utf8) + [0x40, 2, 0x40, 3, 0xA0, 0x01, 0x07])
    // STRING: the bytes under field 4 (key 0x22), type 3; STRINGS: one field 9 (key 0x4a) each, type 8
    // (a recurrent op's direction and activations).
    #expect(ONNX.attribute("direction", .string("forward")) == [0x0A, 9] + Array("direction".utf8) + [0x22, 7] + Array("forward".utf8) + [0xA0, 0x01, 0x03])
    #expect(ONNX.attribute("activations", .strings(["Relu", "Tanh"]))
            == [0x0A, 11] + Array("activations".utf8) + [0x4A, 4] + Array("Relu".utf8) + [0x4A, 4] + Array("Tanh".utf8) + [0xA0, 0x01, 0x08])
    #expect(ONNX.attribute("axis", .int(-1)) == [0x0A, 4] + Array("axis".utf8) + [0x18] + [UInt8](repeating: 0xFF, count: 9) + [0x01, 0xA0, 0x01, 0x02])
}

@Test func tensorAndValueInfoFieldLayout() {
    // TensorProto { dims 1: 2, data_type 2: FLOAT 1, name 8: "w", raw_data 9: 1.0, -2.0 LE }.
    #expect(ONNX.tensor("w", dims: [2], floats: [1, -2])
            == [0x08, 2, 0x10, 1, 0x42, 1, 0x77, 0x4A, 8, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
    #expect(ONNX.tensor("s", dims: [1], int64s: [-1]) == [0x08, 1, 0x10, 7, 0x42, 1, 0x73, 0x4A, 8] + [UInt8](repeating: 0xFF, count: 8))
    // ValueInfoProto { name 1: "x", type 2: TypeProto { tensor_type 1: { elem_type 1: UINT8 2,
    // shape 2: { dim 1: { dim_param 2: "N" }, dim 1: { dim_value 1: 3 } } } } }.
    let shape: [UInt8] = [0x0A, 3, 0x12, 1, 0x4E, 0x0A, 2, 0x08, 3]
    let tensorType: [UInt8] = [0x08, 2, 0x12, UInt8(shape.count)] + shape
    let typeProto: [UInt8] = [0x0A, UInt8(tensorType.count)] + tensorType
    #expect(ONNX.valueInfo("x", type: .uint8, shape: [.symbol("N"), .size(3)]) == [0x0A, 1, 0x78, 0x12, UInt8(typeProto.count)] + typeProto)
}

@Test func graphNamesValuesUniquelyAndWritesAModel() throws {
    let g = ONNXGraph()
    let x = g.unique("input")
    #expect(g.unique("input") == "input_2")
    let w = g.constant("fc.weight", dims: [2, 3], [1, 2, 3, 4, 5, 6])
    let y = g.add("Gemm", [x, w], name: "fc", attributes: [("transB", .int(1))])
    let z = g.add("Relu", [y], name: "fc")
    #expect(y == "fc/Gemm:0" && z == "fc/Relu:0")
    #expect(g.add("Relu", [y], name: "fc") == "fc/Relu:0_2")
    #expect(g.rename(z, to: "logits") && !g.rename("nothing", to: "other"))
    #expect(g.nodes[1].outputs == ["logits"] && g.nodes[1].inputs == ["fc/Gemm:0"])
    let model = g.model(name: "m", input: (x, .float, [.symbol("N"), .size(3)]), output: ("logits", .float, [.symbol("N"), .size(2)]),
                        producer: "nntrain", producerVersion: "0")
    let top = try #require(Protobuf.fields(model))
    #expect(top.map(\.number) == [1, 2, 3, 7, 8])
    #expect(top[0].value == 8)
    let opset = try #require(Protobuf.fields(Array(model[top[4].bytes])))
    #expect(opset.map(\.number) == [1, 2] && opset[1].value == 17)
    let graphBytes = Array(model[top[3].bytes])
    let graph = try #require(Protobuf.fields(graphBytes))
    #expect(graph.map(\.number) == [1, 1, 1, 2, 5, 11, 12])
    let nodeBytes = Array(graphBytes[graph[0].bytes])
    let node = try #require(Protobuf.fields(nodeBytes))
    #expect(node.filter { $0.number == 4 }.map { String(decoding: nodeBytes[$0.bytes], as: UTF8.self) } == ["Gemm"])
}
