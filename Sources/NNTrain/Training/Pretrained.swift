import NNCore

/// Loads pretrained weights (`model.from`) into a freshly built model, by tensor name.
///
/// Names: each tensor name in the file first loses `from_prefix` (when it starts with it), then
/// the longest key of `from_map` that is the whole name or a whole-component prefix of it
/// (`"features.0"` matches `features.0.weight`, not `features.01.weight`) is replaced by its
/// value; the result must equal a tensor name of this model (`layers.N.weight`, `layers.N.bias`,
/// `layers.N.running_mean`, `layers.N.running_var`, `layers.N.num_batches_tracked`).
///
/// Requested layers: `from_layers`, or every top-level layer with parameters or running
/// statistics. Each requested layer must receive every one of its tensors
/// (`num_batches_tracked` may be absent) with the model's shape (a scalar and `[1]` are the same)
/// and a floating-point dtype (F64/F16/BF16 convert to Float32; only `num_batches_tracked` may
/// be an integer). Anything else is a config error (exit 2) naming the layer and the nearest
/// names in the file; every problem is reported in one pass.
///
/// Architecture: a file nntrain wrote carries the resolved `model` object in its metadata
/// (`nntrain_model`). A loaded layer whose type differs from the file's layer it comes from is
/// an error; a different activation after it (fused, or the standalone activation layer that
/// follows, dropout skipped) is a warning.
public enum Pretrained {
    /// What was loaded: one line per layer (`layers.1 (dense): weight, bias from layers.1`),
    /// and warnings (file tensors that match nothing, activations that differ).
    public struct Report {
        public var file: String
        public var tensors = 0
        public var lines: [String] = []
        public var warnings: [String] = []

        /// The lines a run prints: a heading, each layer, then each warning.
        public var messages: [String] {
            ["loaded \(tensors) tensor\(tensors == 1 ? "" : "s") from \(file):"] + lines.map { "  " + $0 } + warnings.map { "warning: " + $0 }
        }
    }

    /// Copies the tensors of `config.model.from` into `model` (built from `config.model`).
    public static func load(into model: Model, config: ExperimentConfig) throws(RunError) -> Report {
        guard let path = config.model.from else { return Report(file: "") }
        // Header first: a huge or sparse file is refused before its data is read.
        let decoded = try Experiment.readWeights(path)
        var report = Report(file: path)
        var errors: [String] = []

        // The file's tensors under the names of this model.
        struct Source { var entry: Safetensors.Entry; var stripped: String }
        var sources: [String: Source] = [:]
        var mapKeysUsed = Set<String>()
        for e in decoded.entries {
            var name = e.name
            if !config.model.fromPrefix.isEmpty, name.hasPrefix(config.model.fromPrefix) {
                name = String(name.dropFirst(config.model.fromPrefix.count))
            }
            let stripped = name
            if let key = config.model.fromMap.keys.filter({ name == $0 || name.hasPrefix($0 + ".") }).max(by: { $0.count < $1.count }),
               let target = config.model.fromMap[key] {
                name = target + name.dropFirst(key.count)
                mapKeysUsed.insert(key)
            }
            if let other = sources[name] {
                errors.append("$.model.\(config.model.fromMap.isEmpty ? "from_prefix" : "from_map"): \(other.entry.name) and \(e.name) of \(path) both become \(name)")
                continue
            }
            sources[name] = Source(entry: e, stripped: stripped)
        }

        // The layers to load and their tensors.
        func tensors(_ layer: any Layer) -> [(String, Tensor)] { layer.parameters.map { ($0.name, $0.value) } + layer.buffers }
        let specs = config.model.layers
        func typeName(_ i: Int) -> String { i < specs.count ? specs[i].typeName : "layer" }
        var requested: [Int] = []
        if let wanted = config.model.fromLayers {
            for (k, i) in wanted.enumerated() where !requested.contains(i) {
                guard i < model.layers.count, !tensors(model.layers[i]).isEmpty else {
                    errors.append("$.model.from_layers.\(k): layers.\(i) (\(typeName(i))) has no weights to load")
                    continue
                }
                requested.append(i)
            }
            if wanted.isEmpty { errors.append("$.model.from_layers: expected at least one layer index, got an empty list") }
        } else {
            requested = model.layers.indices.filter { !tensors(model.layers[$0]).isEmpty }
            if requested.isEmpty { errors.append("$.model.from: this model has no layer with weights to load") }
        }

        let modelNames = Set(model.layers.flatMap { tensors($0).map(\.0) })
        var used = Set<String>()
        var sourceLayer: [Int: Int] = [:]
        for i in requested {
            let layer = model.layers[i]
            var loaded: [String] = []
            var origins: [String] = []
            var missing: [String] = []
            for (name, tensor) in tensors(layer) {
                let short = String(name.dropFirst(layer.name.count + 1))
                guard let source = sources[name] else {
                    if !name.hasSuffix(".num_batches_tracked") { missing.append(name) }
                    continue
                }
                let e = source.entry
                let shown = e.name == name ? "" : " (as \(e.name))"
                let isCounter = name.hasSuffix(".num_batches_tracked")
                guard e.dtype.isFloatingPoint || isCounter else {
                    errors.append("$.model.from: \(name) is \(e.dtype.rawValue) in \(path)\(shown); a weight must be floating point (F32, F64, F16 or BF16)")
                    continue
                }
                let dims = tensor.shape.dims
                let sameShape = e.shape == dims || (e.values.count == 1 && tensor.count == 1 && e.shape.count <= 1 && dims.count <= 1)
                guard sameShape else {
                    var message = "$.model.from: \(name) has shape \(e.shape) in \(path)\(shown), the model's is \(dims)"
                    if dims.count == 2, e.shape == dims.reversed() {
                        message += " (transposed: a dense weight is [out, in], as in torch.nn.Linear)"
                    }
                    errors.append(message)
                    continue
                }
                e.values.withUnsafeBufferPointer { src in
                    for j in 0..<tensor.count { tensor.pointer[j] = src[j] }
                }
                used.insert(name)
                loaded.append(short)
                let origin = layerPrefix(of: source.entry.name, loadedAs: short)
                if !origins.contains(origin) { origins.append(origin) }
                if sourceLayer[i] == nil { sourceLayer[i] = layerIndex(source.stripped) }
            }
            if !missing.isEmpty {
                let all = sources.map { Candidate(name: $0.key, file: $0.value.entry.name, stripped: $0.value.stripped) }
                let unclaimed = all.filter { !modelNames.contains($0.name) }
                let near = nearestNames(to: missing[0], in: unclaimed.isEmpty ? all : unclaimed)
                var message = "$.model.from: layers.\(i) (\(typeName(i))) "
                message += loaded.isEmpty
                    ? "gets nothing from \(path), which has no \(missing.joined(separator: ", "))"
                    : "gets only \(loaded.joined(separator: ", ")) from \(path), which has no \(missing.joined(separator: ", "))"
                if !near.isEmpty {
                    message += "; nearest names in the file: \(near.map(\.file).joined(separator: ", "))"
                    let suffix = "." + (missing[0].split(separator: ".").last.map(String.init) ?? "")
                    if let best = near.first(where: { $0.stripped.hasSuffix(suffix) }) {
                        let from = String(best.stripped.dropLast(suffix.count))
                        message += " (to load \(from) into layers.\(i): model.from_map {\(JSONValue.quote(from)): \(JSONValue.quote("layers.\(i)"))}"
                        message += config.model.fromLayers == nil ? "; to leave layers.\(i) as initialised: model.from_layers)" : ")"
                    }
                }
                errors.append(message)
            }
            guard !loaded.isEmpty else { continue }
            report.tensors += loaded.count
            report.lines.append("layers.\(i) (\(typeName(i))): \(loaded.joined(separator: ", ")) from \(origins.joined(separator: ", "))")
        }

        errors += checkArchitecture(report: &report, requested: requested, sourceLayer: sourceLayer,
                                    metadata: decoded.metadata, target: config.resolved["model"], path: path)
        if !errors.isEmpty { throw .config(errors) }
        for key in config.model.fromMap.keys.sorted() where !mapKeysUsed.contains(key) {
            report.warnings.append("$.model.from_map.\(key): no tensor name in \(path) is \(JSONValue.quote(key)) or starts with \(JSONValue.quote(key + "."))")
        }
        if config.model.fromLayers == nil {
            let loadedFromFile = Set(used.compactMap { sources[$0]?.entry.name })
            let unused = decoded.entries.map(\.name).filter { !loadedFromFile.contains($0) }
            if !unused.isEmpty {
                let shown = unused.prefix(6).joined(separator: ", ") + (unused.count > 6 ? ", …" : "")
                report.warnings.append("$.model.from: \(unused.count) tensor\(unused.count == 1 ? "" : "s") of \(path) match\(unused.count == 1 ? "es" : "") no tensor of this model: \(shown) (rename them with model.from_map)")
            }
        }
        return report
    }

    /// The part of a file's tensor name that names its layer: `features.0` of
    /// `features.0.weight` loaded as `weight`; for nested renames, the name less the components
    /// it shares at its end with the loaded name (`block.conv` of `block.conv.weight`).
    static func layerPrefix(of file: String, loadedAs short: String) -> String {
        if file.hasSuffix("." + short) { return String(file.dropLast(short.count + 1)) }
        let f = file.split(separator: "."), n = short.split(separator: ".")
        var k = 0
        while k < min(f.count - 1, n.count), f[f.count - 1 - k] == n[n.count - 1 - k] { k += 1 }
        return f.dropLast(k).joined(separator: ".")
    }

    /// N of a name `layers.N…` (nil for other names).
    static func layerIndex(_ name: String) -> Int? {
        let parts = name.split(separator: ".")
        guard parts.count >= 2, parts[0] == "layers" else { return nil }
        return Int(parts[1])
    }

    /// Up to three names of the file closest to `name`: same last component first, then by
    /// edit distance (compared under this model's names, shown as written in the file).
    static func nearestNames(to name: String, in candidates: [Candidate]) -> [Candidate] {
        let last = name.split(separator: ".").last
        let ranked = candidates.map { c in (c, c.name.split(separator: ".").last == last ? 0 : 1, editDistance(c.name, name)) }
        return ranked.sorted { ($0.1, $0.2, $0.0.name) < ($1.1, $1.2, $1.0.name) }.prefix(3).map(\.0)
    }

    /// A tensor of the file: its name under this model's names, as written, and after `from_prefix`.
    struct Candidate {
        var name: String
        var file: String
        var stripped: String
    }

    /// Compares the types and activations of the loaded layers with the file's model
    /// (`nntrain_model` metadata); type differences are returned as errors, activation
    /// differences added to the report's warnings.
    static func checkArchitecture(report: inout Report, requested: [Int], sourceLayer: [Int: Int], metadata: [String: String],
                                  target: JSONValue?, path: String) -> [String] {
        guard let text = metadata["nntrain_model"], let source = try? JSONValue.parse(Array(text.utf8)),
              let sourceLayers = source["layers"]?.arrayValue, let targetLayers = target?["layers"]?.arrayValue else { return [] }
        var errors: [String] = []
        for i in requested {
            guard let k = sourceLayer[i], k < sourceLayers.count, i < targetLayers.count else { continue }
            let have = layerType(targetLayers[i]), had = layerType(sourceLayers[k])
            if have != had {
                errors.append("$.model.from: layers.\(i) is a \(have) layer here, but layers.\(k) of the model in \(path) (its nntrain_model metadata) was a \(had) layer")
                continue
            }
            let after = activation(after: i, in: targetLayers), before = activation(after: k, in: sourceLayers)
            if after != before {
                report.warnings.append("$.model.from: in \(path)'s model layers.\(k) (\(had)) is followed by \(before), here layers.\(i) by \(after); check model.layers.\(i).activation")
            }
        }
        return errors
    }

    static func layerType(_ layer: JSONValue) -> String { layer["type"]?.stringValue ?? "unknown" }

    /// The nonlinearity applied to the output of layer `i` of a resolved layer list: its own
    /// `activation`, else a standalone activation layer after it (dropout skipped), else "no activation".
    static func activation(after i: Int, in layers: [JSONValue]) -> String {
        func name(_ v: JSONValue?) -> String? {
            let n = v?.stringValue ?? v?["type"]?.stringValue
            return n == "swish" ? "silu" : n
        }
        if let own = name(layers[i]["activation"]), own != "linear", layerType(layers[i]) != "activation" { return own }
        var j = i + 1
        while j < layers.count, layerType(layers[j]) == "dropout" { j += 1 }
        guard j < layers.count else { return "no activation" }
        let t = layerType(layers[j])
        if t == "activation" { return name(layers[j]["activation"]) ?? "relu" }
        if LayerSpec.kind(named: t)?.isActivationFunction == true { return t == "swish" ? "silu" : t }
        return "no activation"
    }
}
