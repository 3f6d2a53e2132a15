import Foundation
import NNCore
import Testing

/// Generates malformed experiment configs from `configs/quickstart.json` (seeded): wrong types,
/// missing keys, unknown keys, out-of-range, huge and negative numbers, empty layer lists,
/// shapes that do not connect, deeply nested junk, invalid UTF-8, truncated files and a 50 MB
/// file. Every one must be refused with exit 2 and one line per problem naming its JSON path.
struct ConfigCorpus {
    struct Case: CustomStringConvertible, Sendable {
        var kind: String
        var detail: String
        var bytes: [UInt8]
        var description: String { "\(kind): \(detail)" }
    }

    let base: JSONValue
    var rng: SplitMix64

    init(seed: UInt64) throws {
        var b = try JSONValue.parse(try FileIO.read(root + "configs/quickstart.json"))
        // Absolute data paths, so a config written anywhere finds the data.
        for split in ["train", "test"] {
            for key in ["images", "labels"] {
                if case .string(let p)? = b["data"]?[split]?[key] {
                    b = set(b, ["data", split, key], .string(root + "configs/" + p))
                }
            }
        }
        base = b
        rng = SplitMix64(seed: seed)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    func text(_ v: JSONValue) -> [UInt8] { Array(v.serialized().utf8) }

    /// Every path to a scalar or array-of-scalars leaf of the base config.
    func leaves(_ v: JSONValue, _ path: [String] = []) -> [[String]] {
        switch v {
        case .object(let pairs): return pairs.flatMap { leaves($0.1, path + [$0.0]) }
        case .array(let items) where items.contains(where: { if case .object = $0 { return true }; return false }):
            return items.enumerated().flatMap { leaves($0.element, path + [String($0.offset)]) }
        default: return [path]
        }
    }

    func objects(_ v: JSONValue, _ path: [String] = []) -> [[String]] {
        switch v {
        case .object(let pairs): return [path] + pairs.flatMap { objects($0.1, path + [$0.0]) }
        case .array(let items): return items.enumerated().flatMap { objects($0.element, path + [String($0.offset)]) }
        default: return []
        }
    }

    static let knownKeys: Set<String> = [
        "name", "seed", "threads", "data", "model", "loss", "optimizer", "schedule", "regularization", "training",
        "output", "train", "test", "validation", "validation_split", "task", "preprocess", "augment", "format",
        "images", "labels", "path", "label_column", "header", "delimiter", "type", "per", "range", "input", "init",
        "layers", "units", "activation", "bias", "rate", "label_smoothing", "lr", "momentum", "dampening",
        "nesterov", "betas", "eps", "amsgrad", "weight_decay", "step_size", "gamma", "milestones", "T_max",
        "eta_min", "warmup_epochs", "warmup_start_factor", "l2", "l1", "max_norm", "clip", "norm", "value",
        "epochs", "batch_size", "eval_batch_size", "shuffle", "log_every", "early_stopping", "monitor", "patience",
        "min_delta", "restore_best", "checkpoint_every_steps", "on_nan", "dir", "mean", "std", "a", "b", "gain", "mode",
    ]

    mutating func generate(count: Int) -> [Case] {
        var cases: [Case] = []
        let leafPaths = leaves(base)
        let objectPaths = objects(base)
        let wrongValues: [JSONValue] = [.string("x"), .number(7), .bool(true), .array([.number(1)]), .object([("a", .number(1))])]
        func kind(_ v: JSONValue) -> String { v.kindName }

        // Wrong types: every leaf, a value of another kind (never null, which some keys accept).
        for path in leafPaths {
            guard let old = get(base, path) else { continue }
            let choices = wrongValues.filter { kind($0) != kind(old) }
            let v = pick(choices)
            cases.append(Case(kind: "wrong type", detail: path.joined(separator: ".") + " = " + v.serialized(indent: 0), bytes: text(set(base, path, v))))
        }
        // Missing required keys.
        for path in [["data"], ["model"], ["data", "train"], ["model", "input"], ["model", "layers"],
                     ["data", "train", "images"], ["data", "train", "labels"], ["data", "train", "format"],
                     ["model", "layers", "1", "units"], ["model", "layers", "0", "type"], ["model", "layers", "2", "type"]] {
            cases.append(Case(kind: "missing key", detail: path.joined(separator: "."), bytes: text(remove(base, path))))
        }
        // Unknown keys: a typo of a known key, or a made-up one, in every object.
        for path in objectPaths {
            var key = pick(["optimiser", "learning_rate", "epoch", "batchsize", "activaton", "unit", "foo", "dropout_rate", "lrr", "momentom"])
            while ConfigCorpus.knownKeys.contains(key) { key += "x" }
            cases.append(Case(kind: "unknown key", detail: (path + [key]).joined(separator: "."), bytes: text(set(base, path + [key], .number(1)))))
        }
        // Out of range, negative and huge numbers.
        let numeric: [([String], [JSONValue])] = [
            (["optimizer", "lr"], [.number(-1), .number(0), .number(-1e308)]),
            (["optimizer", "betas"], [.array([.number(1.2), .number(0.9)]), .array([.number(0.9)]), .array([.number(-0.1), .number(0.9)])]),
            (["training", "epochs"], [.number(0), .number(-3), .number(1e300), .number(2.5), .number(9.9e15)]),
            (["training", "batch_size"], [.number(0), .number(-5), .number(1e7), .number(1e308)]),
            (["training", "log_every"], [.number(0), .number(-1)]),
            (["model", "layers", "1", "units"], [.number(-1), .number(0), .number(1e9), .number(1e300), .number(0.5)]),
            (["model", "layers", "2", "rate"], [.number(1.5), .number(-0.1), .number(1)]),
            (["model", "input"], [.array([.number(-1), .number(28), .number(28)]), .array([]), .array([.number(1e300)]),
                                   .array([.number(1), .number(2), .number(3), .number(4)]), .array([.number(1000), .number(1000), .number(1000)])]),
            (["data", "validation_split"], [.number(1), .number(-0.2), .number(1e308)]),
            (["loss", "label_smoothing"], [.number(2), .number(-1)]),
            (["seed"], [.number(-5), .number(1e300), .number(0.5)]),
            (["threads"], [.number(0), .number(5000), .number(-2)]),
            (["schedule"], [.object([("type", .string("step")), ("step_size", .number(0))]),
                            .object([("type", .string("cosine")), ("T_max", .number(-1))]),
                            .object([("type", .string("multistep")), ("milestones", .array([.number(5), .number(2)]))]),
                            .object([("type", .string("constant")), ("warmup_epochs", .number(-1))])]),
            (["regularization"], [.object([("l2", .number(-1))]), .object([("clip", .object([("norm", .number(-1))]))]),
                                  .object([("max_norm", .number(0))])]),
            (["training", "eval_batch_size"], [.number(0), .number(1e9)]),
        ]
        for (path, values) in numeric {
            for v in values {
                cases.append(Case(kind: "bad number", detail: path.joined(separator: ".") + " = " + v.serialized(indent: 0), bytes: text(set(base, path, v))))
            }
        }
        // Memory that cannot fit: valid numbers, too big together.
        cases.append(Case(kind: "too big", detail: "units 1048576, batch 1048576",
                          bytes: text(set(set(base, ["model", "layers", "1", "units"], .number(1_048_576)), ["training", "batch_size"], .number(1_048_576)))))
        // Empty layer lists and shapes that do not connect.
        cases.append(Case(kind: "empty layers", detail: "layers = []", bytes: text(set(base, ["model", "layers"], .array([])))))
        let layers = get(base, ["model", "layers"])?.arrayValue ?? []
        cases.append(Case(kind: "shapes", detail: "no flatten before dense", bytes: text(set(base, ["model", "layers"], .array(Array(layers.dropFirst()))))))
        cases.append(Case(kind: "shapes", detail: "image output for cross_entropy",
                          bytes: text(set(base, ["model", "layers"], .array([.object([("type", .string("relu"))])])))))
        cases.append(Case(kind: "shapes", detail: "dense on a 2-D input without flatten",
                          bytes: text(set(set(base, ["model", "input"], .array([.number(28), .number(28)])),
                                          ["model", "layers"], .array(Array(layers.dropFirst()))))))
        // Deeply nested junk.
        for depth in [65, 1000, 100_000] {
            let junk = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            var t = base.serialized()
            t.insert(contentsOf: "\"junk\": " + junk + ",", at: t.index(after: t.startIndex))
            cases.append(Case(kind: "deep nesting", detail: "\(depth) levels", bytes: Array(t.utf8)))
        }
        // Invalid UTF-8 at random places, inside and outside strings.
        let baseBytes = text(base)
        for _ in 0..<12 {
            var b = baseBytes
            let at = 1 + Int(rng.next() % UInt64(b.count - 2))
            b.insert(contentsOf: pick([[0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xF0, 0x28, 0x8C, 0x28]]), at: at)
            cases.append(Case(kind: "invalid UTF-8", detail: "at byte \(at)", bytes: b))
        }
        // Truncated files, empty files, non-objects.
        for _ in 0..<12 {
            let n = Int(rng.next() % UInt64(baseBytes.count - 1))
            cases.append(Case(kind: "truncated", detail: "\(n) of \(baseBytes.count) bytes", bytes: Array(baseBytes.prefix(n))))
        }
        for junk in ["", "null", "[]", "7", "\"config\"", "{\"data\": }", "{,}", "\u{FEFF}{}", "{\"model\": {\"layers\": [{}]}}"] {
            cases.append(Case(kind: "junk", detail: junk, bytes: Array(junk.utf8)))
        }
        // A 50 MB file.
        var big = Array(#"{"name": "big", "pad": ""#.utf8)
        big += [UInt8](repeating: 0x61, count: 50 << 20)
        big += Array(#""}"#.utf8)
        cases.append(Case(kind: "50 MB", detail: "\(big.count) bytes", bytes: big))

        // Fill up to `count` with random picks of the above, mutated again (two problems at once).
        var extra: [Case] = []
        while cases.count + extra.count < count {
            let path = pick(leafPaths)
            guard let old = get(base, path) else { continue }
            let v = pick(wrongValues.filter { kind($0) != kind(old) })
            var second = pick(Array(ConfigCorpus.knownKeys))
            second += "_typo"
            let mutated = set(set(base, path, v), [pick(["model", "optimizer", "training", "data"]), second], .number(1))
            extra.append(Case(kind: "two problems", detail: path.joined(separator: ".") + " and " + second, bytes: text(mutated)))
        }
        return cases + extra
    }
}

func get(_ v: JSONValue, _ path: [String]) -> JSONValue? {
    var cur: JSONValue? = v
    for k in path {
        if let i = Int(k), case .array(let a)? = cur { cur = i < a.count ? a[i] : nil } else { cur = cur?[k] }
    }
    return cur
}

func set(_ v: JSONValue, _ path: [String], _ value: JSONValue) -> JSONValue {
    guard let k = path.first else { return value }
    let rest = Array(path.dropFirst())
    switch v {
    case .object(var pairs):
        if let i = pairs.firstIndex(where: { $0.0 == k }) { pairs[i].1 = set(pairs[i].1, rest, value) } else {
            pairs.append((k, set(.object([]), rest, value)))
        }
        return .object(pairs)
    case .array(var items):
        if let i = Int(k), i < items.count { items[i] = set(items[i], rest, value) }
        return .array(items)
    default:
        return set(.object([]), path, value)
    }
}

func remove(_ v: JSONValue, _ path: [String]) -> JSONValue {
    guard let k = path.first else { return v }
    switch v {
    case .object(var pairs):
        if path.count == 1 { pairs.removeAll { $0.0 == k } } else if let i = pairs.firstIndex(where: { $0.0 == k }) {
            pairs[i].1 = remove(pairs[i].1, Array(path.dropFirst()))
        }
        return .object(pairs)
    case .array(var items):
        if let i = Int(k), i < items.count { items[i] = remove(items[i], Array(path.dropFirst())) }
        return .array(items)
    default: return v
    }
}

/// The fixed-seed sample `make test` runs; `make fuzz` sets NNTRAIN_FUZZ_CONFIGS / _SEED.
let configCorpus: [ConfigCorpus.Case] = {
    let env = ProcessInfo.processInfo.environment
    let count = Int(env["NNTRAIN_FUZZ_CONFIGS"] ?? "") ?? 220
    let seed = UInt64(env["NNTRAIN_FUZZ_SEED"] ?? "") ?? 20_261_122
    guard var corpus = try? ConfigCorpus(seed: seed) else { return [] }
    return corpus.generate(count: count)
}()

@Test func theCorpusIsLargeAndCoversEveryKind() {
    #expect(configCorpus.count >= 200)
    let kinds = Set(configCorpus.map(\.kind))
    for k in ["wrong type", "missing key", "unknown key", "bad number", "too big", "empty layers", "shapes",
              "deep nesting", "invalid UTF-8", "truncated", "junk", "50 MB"] {
        #expect(kinds.contains(k), "no \(k) case")
    }
}

@Test(arguments: configCorpus.indices)
func malformedConfigExitsTwoWithItsJSONPath(index: Int) throws {
    let c = configCorpus[index]
    let dir = tempDir("corpus-\(index)")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/bad.json"
    try FileIO.writeAtomically(path, c.bytes)
    // Bounded: 4 GB of address space and 30 s; a crash, a hang or a runaway allocation fails.
    let r = try nntrain(["run", path, "--out", dir + "/run"], memoryLimitKB: 4 << 20, timeout: 30)
    #expect(r.status == 2, "\(c): exit \(r.status)\n\(r.stderr)")
    let lines = r.stderr.split(separator: "\n")
    #expect(!lines.isEmpty, "\(c): no message")
    for line in lines {
        #expect(line.hasPrefix(Substring(path + ": $")) || line.hasPrefix("  $") || line.contains(": $"), "\(c): line without a JSON path: \(line)")
    }
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/curves.csv"), "\(c): started training")
    try? FileManager.default.removeItem(atPath: dir)
}
