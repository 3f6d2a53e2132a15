import Foundation
import NNCore
import Testing

/// Generates configs whose numbers are extreme (seeded): every number of a shipped config, or of
/// a block that reaches a less common key (each schedule, init, optimizer, augmentation, clip),
/// replaced by a value that traps a plain `Int(d)` or `Float(d)` (1e300, 1e19, 2.5, 1e-46, 1e39,
/// the smallest subnormal …). `nntrain validate` must answer each with exit 0 or 2 (one line per
/// problem naming its JSON path), never a signal or a hang: issue 17, item 9.
struct NumberCorpus {
    struct Case: CustomStringConvertible, Sendable {
        var detail: String
        var bytes: [UInt8]
        var description: String { detail }
    }

    static let extremes: [Double] = [1e300, -1e300, 1e39, -1e39, 1e19, -1e19, 9.3e18, 9.0e15, 2.5, 0.5, 1e-46, -1e-46,
                                     4.9e-324, 1e-40, 0, -1, 1e6, 1_048_577, 65_536, 3.4e38]

    /// Blocks that put a less common numeric key into the config (`path`, value).
    static let blocks: [([String], String)] = [
        (["schedule"], #"{"type": "step", "step_size": 3, "gamma": 0.5, "warmup_epochs": 1, "warmup_start_factor": 0.1}"#),
        (["schedule"], #"{"type": "multistep", "milestones": [2, 4, 6], "gamma": 0.5}"#),
        (["schedule"], #"{"type": "linear", "start_factor": 1, "end_factor": 0.1, "total_iters": 5}"#),
        (["schedule"], #"{"type": "exponential", "gamma": 0.9}"#),
        (["schedule"], #"{"type": "inverse_time", "decay_rate": 0.5}"#),
        (["schedule"], #"{"type": "cosine", "T_max": 6, "eta_min": 0.0001}"#),
        (["schedule"], #"{"type": "cosine_restarts", "T_0": 2, "T_mult": 2, "eta_min": 0}"#),
        (["schedule"], #"{"type": "cyclic", "max_lr": 0.01, "step_size_up": 20, "mode": "exp_range", "gamma": 0.99}"#),
        (["schedule"], #"{"type": "one_cycle", "pct_start": 0.3, "div_factor": 25, "final_div_factor": 10000}"#),
        (["schedule"], #"{"type": "reduce_on_plateau", "factor": 0.5, "patience": 2, "threshold": 0.0001, "cooldown": 1, "min_lr": 0}"#),
        (["model", "init"], #"{"type": "normal", "mean": 0, "std": 0.01}"#),
        (["model", "init"], #"{"type": "uniform", "a": -0.1, "b": 0.1}"#),
        (["model", "init"], #"{"type": "constant", "value": 0.1}"#),
        (["model", "init"], #"{"type": "orthogonal", "gain": 1}"#),
        (["optimizer"], #"{"type": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0.0001}"#),
        (["optimizer"], #"{"type": "adam", "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0}"#),
        (["regularization"], #"{"l2": 0.0001, "l1": 0.00001, "max_norm": 3, "clip": {"norm": 1, "value": 0.5}}"#),
        (["training", "early_stopping"], #"{"monitor": "val_loss", "patience": 3, "min_delta": 0.001}"#),
        (["training", "checkpoint_every_steps"], "100"),
        (["loss", "label_smoothing"], "0.1"),
        (["data", "augment"], #"[{"type": "random_crop", "padding": 2}, {"type": "rotation", "degrees": 10}, {"type": "scale", "range": [0.9, 1.1]}, {"type": "translate", "fraction": 0.1}, {"type": "cutout", "size": 4}, {"type": "gaussian_noise", "std": 0.1}]"#),
        (["data", "preprocess"], #"[{"type": "standardize"}, {"type": "pca", "components": 784, "eps": 0.00001}]"#),
        (["model", "from_layers"], "[1, 3]"),
    ]

    let bases: [(String, JSONValue)]
    var rng: SplitMix64

    init(seed: UInt64) throws {
        var bases: [(String, JSONValue)] = []
        for name in ["quickstart", "fashion-mlp", "fashion-cnn", "tanh-init-small"] {
            let path = root + "configs/\(name).json"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            bases.append((name, try JSONValue.parse(try FileIO.read(path))))
        }
        self.bases = bases
        rng = SplitMix64(seed: seed)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    /// Every path to a number, inside arrays too.
    static func numberPaths(_ v: JSONValue, _ path: [String] = []) -> [[String]] {
        switch v {
        case .number: return [path]
        case .object(let pairs): return pairs.flatMap { numberPaths($0.1, path + [$0.0]) }
        case .array(let items): return items.enumerated().flatMap { numberPaths($0.element, path + [String($0.offset)]) }
        default: return []
        }
    }

    mutating func generate(count: Int) -> [Case] {
        var cases: [Case] = []
        while cases.count < count && !bases.isEmpty {
            let (name, base) = pick(bases)
            var config = base
            var detail = name
            // Half the cases first swap in a block with rarer keys (parsed from fixed text).
            if rng.next() % 2 == 0, let (path, text) = Optional(pick(NumberCorpus.blocks)), let block = try? JSONValue.parse(Array(text.utf8)) {
                config = set(config, path, block)
                if path == ["model", "from_layers"] { config = set(config, ["model", "from"], .string("../runs/none/model.safetensors")) }
                detail += " + " + path.joined(separator: ".")
            }
            let paths = NumberCorpus.numberPaths(config)
            guard !paths.isEmpty else { continue }
            // One to three numbers at once.
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let path = pick(paths)
                let v = pick(NumberCorpus.extremes)
                config = set(config, path, .number(v))
                detail += "; " + path.joined(separator: ".") + " = " + JSONValue.format(v)
            }
            cases.append(Case(detail: detail, bytes: Array(config.serialized().utf8)))
        }
        return cases
    }
}

/// The fixed-seed sample `make test` runs; `make fuzz` sets NNTRAIN_FUZZ_FILES / _SEED.
let numberCorpus: [NumberCorpus.Case] = {
    let env = ProcessInfo.processInfo.environment
    let count = Int(env["NNTRAIN_FUZZ_FILES"] ?? "") ?? 150
    let seed = UInt64(env["NNTRAIN_FUZZ_SEED"] ?? "") ?? 20_261_205
    guard var corpus = try? NumberCorpus(seed: seed) else { return [] }
    return corpus.generate(count: count)
}()

@Test func malformedNumberCorpusNeverTraps() throws {
    #expect(numberCorpus.count >= 100)
    let dir = tempDir("number-corpus")
    // Inside configs/, so the shipped configs' relative data paths resolve.
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var refused = 0, accepted = 0
    for (i, c) in numberCorpus.enumerated() {
        let path = root + "configs/.number-corpus-\(getpid()).json"
        try FileIO.writeAtomically(path, c.bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try nntrain(["validate", path], memoryLimitKB: 4 << 20, timeout: 30)
        #expect(r.status == 0 || r.status == 2, "case \(i) \(c): exit \(r.status)\n\(r.stderr)")
        if r.status == 2 {
            refused += 1
            let errors = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("warning:") && !$0.hasSuffix("problems found") && !$0.hasSuffix("problem found") }
            #expect(!errors.isEmpty, "case \(i) \(c): no message")
            for line in errors {
                #expect(line.contains(": $"), "case \(i) \(c): line without a JSON path: \(line)")
            }
        } else if r.status == 0 {
            accepted += 1
        }
    }
    print("number corpus: \(numberCorpus.count) configs, \(refused) refused (exit 2), \(accepted) valid (exit 0)")
}
