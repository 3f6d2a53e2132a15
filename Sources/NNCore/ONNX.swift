/// ONNX models (onnx/onnx.proto, IR version 8, the default opset 17) written with `Protobuf`:
/// the messages an inference graph needs — ModelProto, GraphProto, NodeProto, AttributeProto,
/// TensorProto (data in `raw_data`, little-endian) and ValueInfoProto with a tensor type — and
/// `ONNXGraph`, a builder that names values uniquely and keeps the weights as initializers.
///
/// Field numbers, from onnx.proto: ModelProto ir_version 1, producer_name 2, producer_version 3,
/// graph 7, opset_import 8; OperatorSetIdProto domain 1, version 2; GraphProto node 1, name 2,
/// initializer 5, input 11, output 12; NodeProto input 1, output 2, name 3, op_type 4,
/// attribute 5; AttributeProto name 1, f 2, i 3, s 4, floats 7, ints 8, strings 9, type 20; TensorProto dims 1,
/// data_type 2, name 8, raw_data 9; ValueInfoProto name 1, type 2; TypeProto tensor_type 1;
/// TypeProto.Tensor elem_type 1, shape 2; TensorShapeProto dim 1; Dimension dim_value 1,
/// dim_param 2. Repeated scalars are written unpacked, as proto2 declares them.
public enum ONNX {
    /// TensorProto.DataType.
    public enum DataType: Int, Sendable {
        case float = 1, uint8 = 2, int64 = 7
    }

    /// One dimension of a graph input or output: a size, or a symbolic name (`N`).
    public enum Dimension: Sendable, Equatable {
        case size(Int)
        case symbol(String)
    }

    /// An attribute value (AttributeProto.AttributeType FLOAT 1, INT 2, STRING 3, FLOATS 6,
    /// INTS 7, STRINGS 8).
    public enum AttributeValue: Sendable, Equatable {
        case float(Float)
        case int(Int)
        case string(String)
        case floats([Float])
        case ints([Int])
        case strings([String])

        /// AttributeProto.AttributeType.
        var typeCode: Int64 {
            switch self {
            case .float: return 1
            case .int: return 2
            case .string: return 3
            case .floats: return 6
            case .ints: return 7
            case .strings: return 8
            }
        }
    }

    /// AttributeProto: name, then the value field, then its type.
    public static func attribute(_ name: String, _ value: AttributeValue) -> [UInt8] {
        var out: [UInt8] = []
        Protobuf.appendBytes(1, Array(name.utf8), to: &out)
        switch value {
        case .float(let f): Protobuf.appendFloat(2, f, to: &out)
        case .int(let i): Protobuf.appendInt64(3, Int64(i), to: &out)
        case .string(let t): Protobuf.appendBytes(4, Array(t.utf8), to: &out)
        case .floats(let fs): for f in fs { Protobuf.appendFloat(7, f, to: &out) }
        case .ints(let xs): for x in xs { Protobuf.appendInt64(8, Int64(x), to: &out) }
        case .strings(let ts): for t in ts { Protobuf.appendBytes(9, Array(t.utf8), to: &out) }
        }
        Protobuf.appendInt64(20, value.typeCode, to: &out)
        return out
    }

    /// NodeProto: inputs, outputs, name, op_type, attributes (in the order given).
    public static func node(_ opType: String, inputs: [String], outputs: [String], name: String,
                            attributes: [(String, AttributeValue)] = []) -> [UInt8] {
        var out: [UInt8] = []
        for i in inputs { Protobuf.appendBytes(1, Array(i.utf8), to: &out) }
        for o in outputs { Protobuf.appendBytes(2, Array(o.utf8), to: &out) }
        Protobuf.appendBytes(3, Array(name.utf8), to: &out)
        Protobuf.appendBytes(4, Array(opType.utf8), to: &out)
        for (n, v) in attributes { Protobuf.appendBytes(5, attribute(n, v), to: &out) }
        return out
    }

    /// TensorProto of float values: dims, data_type, name, raw_data.
    public static func tensor(_ name: String, dims: [Int], floats: [Float]) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity(floats.count * 4)
        for f in floats {
            var b = f.bitPattern
            for _ in 0..<4 {
                raw.append(UInt8(truncatingIfNeeded: b))
                b >>= 8
            }
        }
        return tensor(name, dims: dims, type: .float, raw: raw)
    }

    /// TensorProto of int64 values (shapes, axes).
    public static func tensor(_ name: String, dims: [Int], int64s: [Int]) -> [UInt8] {
        var raw: [UInt8] = []
        for v in int64s {
            var b = UInt64(bitPattern: Int64(v))
            for _ in 0..<8 {
                raw.append(UInt8(truncatingIfNeeded: b))
                b >>= 8
            }
        }
        return tensor(name, dims: dims, type: .int64, raw: raw)
    }

    static func tensor(_ name: String, dims: [Int], type: DataType, raw: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for d in dims { Protobuf.appendInt64(1, Int64(d), to: &out) }
        Protobuf.appendInt64(2, Int64(type.rawValue), to: &out)
        Protobuf.appendBytes(8, Array(name.utf8), to: &out)
        Protobuf.appendBytes(9, raw, to: &out)
        return out
    }

    /// ValueInfoProto of a tensor: name, type { tensor_type { elem_type, shape { dim… } } }.
    public static func valueInfo(_ name: String, type: DataType, shape: [Dimension]) -> [UInt8] {
        var dims: [UInt8] = []
        for d in shape {
            var dim: [UInt8] = []
            switch d {
            case .size(let n): Protobuf.appendInt64(1, Int64(n), to: &dim)
            case .symbol(let s): Protobuf.appendBytes(2, Array(s.utf8), to: &dim)
            }
            Protobuf.appendBytes(1, dim, to: &dims)
        }
        var tensorType: [UInt8] = []
        Protobuf.appendInt64(1, Int64(type.rawValue), to: &tensorType)
        Protobuf.appendBytes(2, dims, to: &tensorType)
        var typeProto: [UInt8] = []
        Protobuf.appendBytes(1, tensorType, to: &typeProto)
        var out: [UInt8] = []
        Protobuf.appendBytes(1, Array(name.utf8), to: &out)
        Protobuf.appendBytes(2, typeProto, to: &out)
        return out
    }
}

/// What an export cannot write (a layer without an ONNX form): the message names it.
public struct ONNXExportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An ONNX graph under construction: nodes in topological order (the order they are added),
/// weights and constants as initializers, one input and one output. Every value name is
/// unique: `add` and `constant` derive one from a hint (`layers.1.weight`, then
/// `layers.1.weight_2`…).
public final class ONNXGraph {
    public private(set) var nodes: [(op: String, inputs: [String], outputs: [String], name: String, attributes: [(String, ONNX.AttributeValue)])] = []
    public private(set) var initializers: [[UInt8]] = []
    private var used: Set<String> = []
    private var counts: [String: Int] = [:]

    public init() {}

    /// A name from `hint` that no value or node has yet.
    public func unique(_ hint: String) -> String {
        var name = hint
        while used.contains(name) {
            counts[hint, default: 1] += 1
            name = "\(hint)_\(counts[hint]!)"
        }
        used.insert(name)
        return name
    }

    /// A node `op` on `inputs`; returns the name of its (single) output, made from `name`.
    @discardableResult
    public func add(_ op: String, _ inputs: [String], name: String, attributes: [(String, ONNX.AttributeValue)] = []) -> String {
        let node = unique(name + "/" + op)
        let output = unique(name + "/" + op + ":0")
        nodes.append((op, inputs, [output], node, attributes))
        return output
    }

    /// A float initializer of shape `dims` (`[]`: a scalar).
    public func constant(_ name: String, dims: [Int], _ values: [Float]) -> String {
        precondition(values.count == dims.reduce(1, *), "ONNXGraph.constant \(name): \(values.count) values for shape \(dims)")
        let n = unique(name)
        initializers.append(ONNX.tensor(n, dims: dims, floats: values))
        return n
    }

    /// An int64 initializer (a shape for Reshape).
    public func constant(_ name: String, int64s: [Int]) -> String {
        let n = unique(name)
        initializers.append(ONNX.tensor(n, dims: [int64s.count], int64s: int64s))
        return n
    }

    /// Renames the output `old` of a node to `new` (a graph output's fixed name), in the node
    /// that writes it and in every node that reads it. False when no node writes `old`.
    public func rename(_ old: String, to new: String) -> Bool {
        guard nodes.contains(where: { $0.outputs.contains(old) }) else { return false }
        precondition(!used.contains(new), "ONNXGraph.rename: \(new) is taken")
        used.insert(new)
        for i in nodes.indices {
            nodes[i].inputs = nodes[i].inputs.map { $0 == old ? new : $0 }
            nodes[i].outputs = nodes[i].outputs.map { $0 == old ? new : $0 }
        }
        return true
    }

    /// The ModelProto: ir_version, producer, the graph, the opset of the default domain.
    public func model(name: String, input: (name: String, type: ONNX.DataType, shape: [ONNX.Dimension]),
                      output: (name: String, type: ONNX.DataType, shape: [ONNX.Dimension]),
                      producer: String, producerVersion: String, irVersion: Int = 8, opset: Int = 17) -> [UInt8] {
        var graph: [UInt8] = []
        for n in nodes {
            Protobuf.appendBytes(1, ONNX.node(n.op, inputs: n.inputs, outputs: n.outputs, name: n.name, attributes: n.attributes), to: &graph)
        }
        Protobuf.appendBytes(2, Array(name.utf8), to: &graph)
        for t in initializers { Protobuf.appendBytes(5, t, to: &graph) }
        Protobuf.appendBytes(11, ONNX.valueInfo(input.name, type: input.type, shape: input.shape), to: &graph)
        Protobuf.appendBytes(12, ONNX.valueInfo(output.name, type: output.type, shape: output.shape), to: &graph)
        var opsetId: [UInt8] = []
        Protobuf.appendBytes(1, [], to: &opsetId)
        Protobuf.appendInt64(2, Int64(opset), to: &opsetId)
        var out: [UInt8] = []
        Protobuf.appendInt64(1, Int64(irVersion), to: &out)
        Protobuf.appendBytes(2, Array(producer.utf8), to: &out)
        Protobuf.appendBytes(3, Array(producerVersion.utf8), to: &out)
        Protobuf.appendBytes(7, graph, to: &out)
        Protobuf.appendBytes(8, opsetId, to: &out)
        return out
    }
}
