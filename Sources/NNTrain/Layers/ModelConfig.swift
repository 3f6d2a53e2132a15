import NNCore

/// `model`: input shape, default init and the layer list.
public struct ModelConfig: Sendable, Equatable {
    public var input: [Int]
    public var initialization: InitSpec
    public var layers: [LayerSpec]
    /// A safetensors file (an earlier run's model.safetensors, or a torch `state_dict` saved
    /// with safetensors) whose tensors replace the initial weights and running statistics of
    /// the layers with the same names (`Pretrained.load`).
    public var from: String? = nil
    /// Only these top-level layer indices are loaded (nil: every layer with tensors).
    public var fromLayers: [Int]? = nil
    /// Removed from the start of every tensor name in `from` before matching (`"model."`,
    /// `"module."`).
    public var fromPrefix = ""
    /// Renames, applied after `fromPrefix`: a name in the file (`"features.0"`, or a whole
    /// component prefix of one) → a layer of this model (`"layers.1"`); the longest key wins.
    public var fromMap: [String: String] = [:]

    init(_ r: ObjectReader, baseDirectory: String) {
        let inputD = r.doubles("input", default: nil, check: .closed(1, 16_777_216))
        if inputD == nil && !r.has("input") {
            r.diagnostics.error(r.childPath("input"), "missing required key (expected the per-sample input shape, e.g. [784] or [1, 28, 28])")
        }
        // Non-integers are reported below; 1 stands in for them meanwhile.
        input = (inputD ?? [1]).map { Int(checking: $0) ?? 1 }
        if input.isEmpty || input.count > 3 {
            r.diagnostics.error(r.childPath("input"), "expected 1 to 3 dimensions ([features] or [channels, height, width]), got \(input.count)")
            input = [1]
        } else if inputD?.contains(where: { $0 != $0.rounded() }) == true {
            r.diagnostics.error(r.childPath("input"), "expected integers")
        }
        initialization = InitSpec.read(r, "init", default: .heNormal()) ?? .heNormal()
        if let f = r.string("from", default: nil) {
            from = resolvePath(f, baseDirectory)
            r.record("from", .string(from!))
        }
        let fromLayersD = r.doubles("from_layers", default: nil, check: .closed(0, 1_000_000))
        fromPrefix = r.string("from_prefix", default: "") ?? ""
        fromMap = ModelConfig.readFromMap(r)
        let specs = LayerSpec.readList(r, "layers")
        layers = specs
        if let d = fromLayersD {
            var indices: [Int] = []
            for (i, x) in d.enumerated() {
                guard let index = Int(checking: x), index < specs.count else {
                    r.diagnostics.error(r.childPath("from_layers") + ".\(i)",
                                        "expected a layer index (integer in 0...\(max(0, specs.count - 1))), got \(JSONValue.format(x))")
                    continue
                }
                indices.append(index)
            }
            fromLayers = indices
        }
        if from == nil {
            for key in ["from_layers", "from_prefix", "from_map"] where r.has(key) && r.raw(key) != .string("") && r.raw(key) != .object([]) {
                r.diagnostics.error(r.childPath(key), "needs model.from (the safetensors file to load from)")
            }
        }
        r.finish()
    }

    /// `from_map`: an object of non-empty strings, each value a layer name of this model.
    static func readFromMap(_ r: ObjectReader) -> [String: String] {
        guard let v = r.raw("from_map"), v != .null else { r.record("from_map", .null); return [:] }
        guard case .object(let pairs) = v else {
            r.diagnostics.error(r.childPath("from_map"), "expected an object {\"name in the file\": \"layers.N\"}, got \(v.brief)")
            r.record("from_map", .null)
            return [:]
        }
        var map: [String: String] = [:]
        for (k, value) in pairs {
            let path = r.childPath("from_map") + "." + k
            guard !k.isEmpty else { r.diagnostics.error(path, "expected a tensor name prefix, got an empty key"); continue }
            guard let target = value.stringValue, isLayerName(target) else {
                r.diagnostics.error(path, "expected a layer name of this model (\"layers.N\", e.g. \"layers.1\"), got \(value.brief)")
                continue
            }
            if map[k] != nil { continue }  // the reader already reported the duplicate key
            map[k] = target
        }
        r.record("from_map", .object(pairs.filter { map[$0.0] != nil }))
        return map
    }

    /// `layers.N`, optionally with nested parts (`layers.2.layers.0`, `layers.2.projection`).
    static func isLayerName(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "layers", Int(parts[1]) != nil else { return false }
        return !parts.contains { $0.isEmpty }
    }
}
