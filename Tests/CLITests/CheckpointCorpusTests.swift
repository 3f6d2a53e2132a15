import Foundation
import NNCore
import Testing

// Checkpoints and model files read back are untrusted (issue 17, items 6–8): a mutated
// `checkpoint.safetensors` under `run --resume`, and a mutated `model.safetensors` or
// `preprocess.safetensors` under `eval`, end with the documented exit code and a message that
// names the file: never a signal, never a hang, and nothing outside the run directory changes.
// `make test` runs a fixed-seed sample; `make fuzz` sets NNTRAIN_FUZZ_FILES (5,000) and
// NNTRAIN_FUZZ_SEED.

/// A finished one-epoch quickstart run (checkpoint at epoch 1), made once and copied per case.
let checkpointBase: Swift.Result<String, Error> = Swift.Result {
    let dir = tempDir("ckpt-base")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=1"])
    guard r.status == 0 else { throw CLIError(message: r.stderr) }
    return dir
}

/// The files of a run directory other than the checkpoint, by name (what a refused resume or
/// eval must leave alone).
func runFiles(_ dir: String) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for f in ["config.json", "curves.csv", "steps.csv", "summary.json", "model.safetensors", "preprocess.safetensors"] {
        out[f] = try FileIO.read(dir + "/" + f)
    }
    return out
}

/// A copy of the base run in a fresh directory.
func copyOfBase(_ name: String) throws -> String {
    let base = try checkpointBase.get()
    let dir = tempDir(name)
    try FileManager.default.copyItem(atPath: base, toPath: dir)
    return dir
}

/// The safetensors file at `path` with `change` applied to its tensors and metadata, written
/// back with a valid checksum (so only the reader's range checks can catch the change).
func rewrite(_ path: String, checksum: Bool = true,
             _ change: (inout [Safetensors.Entry], inout [(String, String)]) throws -> Void) throws {
    let file = try Safetensors.decodeFile(try FileIO.read(path))
    var entries = file.entries
    var meta = file.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    try change(&entries, &meta)
    try FileIO.writeAtomically(path, Safetensors.encode(entries, metadata: meta, checksum: checksum))
}

/// Sets `key` of the checkpoint's state JSON (in the metadata) to `value`.
func setState(_ meta: inout [(String, String)], _ key: String, _ value: JSONValue, in object: String? = nil) throws {
    guard let i = meta.firstIndex(where: { $0.0 == "state" }), case .object(var pairs) = try JSONValue.parse(meta[i].1) else {
        throw CLIError(message: "no state in the checkpoint metadata")
    }
    func set(_ pairs: inout [(String, JSONValue)], _ key: String, _ value: JSONValue) {
        if let j = pairs.firstIndex(where: { $0.0 == key }) { pairs[j].1 = value } else { pairs.append((key, value)) }
    }
    if let object, let j = pairs.firstIndex(where: { $0.0 == object }), case .object(var inner) = pairs[j].1 {
        set(&inner, key, value)
        pairs[j].1 = .object(inner)
    } else {
        set(&pairs, key, value)
    }
    meta[i].1 = JSONValue.object(pairs).serialized(indent: 0)
}

/// Replaces the tensor `name` (its dtype, shape and values as given).
func replace(_ entries: inout [Safetensors.Entry], _ name: String, with e: Safetensors.Entry) {
    if let i = entries.firstIndex(where: { $0.name == name }) { entries[i] = e } else { entries.append(e) }
}

func floatsOf(_ entries: [Safetensors.Entry], _ name: String) -> [Float] { entries.first { $0.name == name }?.values ?? [] }

/// Checkpoint changes that a checksum cannot see (the file is re-signed): each must be refused
/// by a range or consistency check, exit 2 or 3 naming the checkpoint.
let craftedCheckpointMutations: [(String, @Sendable (inout [Safetensors.Entry], inout [(String, String)]) throws -> Void)] = [
    ("epochs_done -5", { _, m in try setState(&m, "epochs_done", .number(-5)) }),
    ("epochs_done 99", { _, m in try setState(&m, "epochs_done", .number(99)) }),
    ("epochs_done 1e300", { _, m in try setState(&m, "epochs_done", .number(1e300)) }),
    ("epochs_done 1.5", { _, m in try setState(&m, "epochs_done", .number(1.5)) }),
    ("epochs_done missing", { _, m in try setState(&m, "epochs_done", .null) }),
    ("step_in_epoch -1", { _, m in try setState(&m, "step_in_epoch", .number(-1)) }),
    ("step_in_epoch 99", { _, m in try setState(&m, "step_in_epoch", .number(99)) }),
    ("step_in_epoch 1e19", { _, m in try setState(&m, "step_in_epoch", .number(1e19)) }),
    ("global_step 1e15", { _, m in try setState(&m, "global_step", .number(1e15)) }),
    ("mid-epoch with epoch_seen 0", { _, m in
        try setState(&m, "epochs_done", .number(0)); try setState(&m, "step_in_epoch", .number(5))
        try setState(&m, "global_step", .number(5)); try setState(&m, "epoch_seen", .number(0))
        try setState(&m, "last_curve", .null); try setState(&m, "best_epoch", .null)
    }),
    ("epoch_seen 1e9", { _, m in try setState(&m, "epoch_seen", .number(1e9)) }),
    ("epoch_correct above epoch_seen", { _, m in try setState(&m, "epoch_correct", .number(1e6)) }),
    ("epoch_loss_sum NaN", { _, m in try setState(&m, "epoch_loss_sum", .string(String(Double.nan.bitPattern, radix: 16))) }),
    ("epoch_weight -inf", { _, m in try setState(&m, "epoch_weight", .string(String((-Double.infinity).bitPattern, radix: 16))) }),
    ("last_lr NaN", { _, m in try setState(&m, "last_lr", .string(String(Float.nan.bitPattern, radix: 16))) }),
    ("best_val_accuracy 7", { _, m in try setState(&m, "best_val_accuracy", .string(String(7.0.bitPattern, radix: 16))) }),
    ("plateau.scale 1e300", { _, m in try setState(&m, "scale", .string(String(1e300.bitPattern, radix: 16)), in: "plateau") }),
    ("plateau.bad_epochs 1e12", { _, m in try setState(&m, "bad_epochs", .number(1e12), in: "plateau") }),
    ("best_epoch 0", { _, m in try setState(&m, "best_epoch", .number(0)) }),
    ("best_epoch 50", { _, m in try setState(&m, "best_epoch", .number(50)) }),
    ("wait 1e300", { _, m in try setState(&m, "wait", .number(1e300)) }),
    ("samples_trained 1e15", { _, m in try setState(&m, "samples_trained", .number(1e15)) }),
    ("skipped_batches 1e6", { _, m in try setState(&m, "skipped_batches", .number(1e6)) }),
    ("train_seconds -1", { _, m in try setState(&m, "train_seconds", .number(-1)) }),
    ("last_curve.epoch 7", { _, m in try setState(&m, "epoch", .number(7), in: "last_curve") }),
    ("state not JSON", { _, m in m = m.map { $0.0 == "state" ? ($0.0, "{\"epochs_done\": ") : $0 } }),
    ("state an array", { _, m in m = m.map { $0.0 == "state" ? ($0.0, "[1, 2]") : $0 } }),
    ("optimizer_step -1", { _, m in m = m.map { $0.0 == "optimizer_step" ? ($0.0, "-1") : $0 } }),
    ("optimizer_step 1e300", { _, m in m = m.map { $0.0 == "optimizer_step" ? ($0.0, "1e300") : $0 } }),
    ("optimizer_step past global_step", { _, m in m = m.map { $0.0 == "optimizer_step" ? ($0.0, "100000") : $0 } }),
    ("threads 0", { _, m in m = m.map { $0.0 == "threads" ? ($0.0, "0") : $0 } }),
    ("threads 99999999999", { _, m in m = m.map { $0.0 == "threads" ? ($0.0, "99999999999") : $0 } }),
    ("format 1 without checksum", { _, m in m = m.map { $0.0 == "nntrain_checkpoint" ? ($0.0, "1") : $0 } }),
    ("config not an object", { _, m in m = m.map { $0.0 == "config" ? ($0.0, "17") : $0 } }),
    ("config with 1 epoch done of 0", { _, m in
        m = m.map { $0.0 == "config" ? ($0.0, $0.1.replacingOccurrences(of: "\"epochs\":1", with: "\"epochs\":0")) : $0 }
    }),
    ("order entry out of range", { e, _ in
        var o = e.first { $0.name == "order" }?.int32s ?? []; o[3] = 999_999
        replace(&e, "order", with: Safetensors.Entry(name: "order", int32s: o))
    }),
    ("order entry negative", { e, _ in
        var o = e.first { $0.name == "order" }?.int32s ?? []; o[0] = -7
        replace(&e, "order", with: Safetensors.Entry(name: "order", int32s: o))
    }),
    ("order with a duplicate", { e, _ in
        var o = e.first { $0.name == "order" }?.int32s ?? []; o[1] = o[2]
        replace(&e, "order", with: Safetensors.Entry(name: "order", int32s: o))
    }),
    ("order one short", { e, _ in
        let o = e.first { $0.name == "order" }?.int32s ?? []
        replace(&e, "order", with: Safetensors.Entry(name: "order", int32s: Array(o.dropLast())))
    }),
    ("order as F32", { e, _ in
        let o = floatsOf(e, "order")
        replace(&e, "order", with: Safetensors.Entry(name: "order", shape: [o.count], values: o))
    }),
    ("order missing", { e, _ in e.removeAll { $0.name == "order" } }),
    ("shuffle state all zero", { e, _ in replace(&e, "rng.shuffle", with: Safetensors.Entry(name: "rng.shuffle", uint64s: [0, 0, 0, 0])) }),
    ("dropout state all zero", { e, _ in replace(&e, "rng.layers.2", with: Safetensors.Entry(name: "rng.layers.2", uint64s: [0, 0, 0, 0])) }),
    ("shuffle state of 3 words", { e, _ in replace(&e, "rng.shuffle", with: Safetensors.Entry(name: "rng.shuffle", uint64s: [1, 2, 3])) }),
    ("augmentation state missing", { e, _ in e.removeAll { $0.name == "rng.augmentation" } }),
    ("best_parameters of the wrong size", { e, _ in
        e.append(Safetensors.Entry(name: "best_parameters", shape: [10], values: [Float](repeating: 0, count: 10)))
    }),
    ("parameters with a NaN", { e, _ in
        var p = floatsOf(e, "parameters"); p[17] = .nan
        replace(&e, "parameters", with: Safetensors.Entry(name: "parameters", shape: [p.count], values: p))
    }),
    ("parameters 1e300 as F64", { e, _ in
        var p = Safetensors.Entry(name: "parameters", shape: [3], values: [1, 2, 3]); p.dtype = .f64
        replace(&e, "parameters", with: p)
    }),
    ("parameters shaped 2-D", { e, _ in
        let p = floatsOf(e, "parameters")
        replace(&e, "parameters", with: Safetensors.Entry(name: "parameters", shape: [2, p.count / 2], values: p))
    }),
    ("parameters one short", { e, _ in
        let p = Array(floatsOf(e, "parameters").dropLast())
        replace(&e, "parameters", with: Safetensors.Entry(name: "parameters", shape: [p.count], values: p))
    }),
    ("optimizer buffer of the wrong size", { e, _ in
        replace(&e, "optimizer.exp_avg", with: Safetensors.Entry(name: "optimizer.exp_avg", shape: [5], values: [0, 0, 0, 0, 0]))
    }),
    ("optimizer buffer infinite", { e, _ in
        var v = floatsOf(e, "optimizer.exp_avg_sq"); v[0] = .infinity
        replace(&e, "optimizer.exp_avg_sq", with: Safetensors.Entry(name: "optimizer.exp_avg_sq", shape: [v.count], values: v))
    }),
    ("an unknown tensor", { e, _ in e.append(Safetensors.Entry(name: "surprise", shape: [1], values: [1])) }),
]

@Test func corruptCheckpointFieldsAreRefusedNamingTheFile() throws {
    let dir = try copyOfBase("ckpt-crafted")
    let path = dir + "/checkpoint/checkpoint.safetensors"
    let pristine = try FileIO.read(path)
    let before = try runFiles(dir)
    for (name, change) in craftedCheckpointMutations {
        try FileIO.writeAtomically(path, pristine)
        try rewrite(path, checksum: name != "format 1 without checksum", change)
        let r = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=2"], timeout: 20)
        #expect(r.status == 2 || r.status == 3, "\(name): exit \(r.status)\n\(r.stderr)")
        #expect(r.stderr.contains(path), "\(name): \(r.stderr)")
        #expect(try runFiles(dir) == before, "\(name): the run's files changed")
    }
    // The untouched checkpoint still resumes.
    try FileIO.writeAtomically(path, pristine)
    let ok = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=2"], timeout: 60)
    #expect(ok.status == 0, "\(ok.stderr)")
}

@Test func corruptCheckpointMessagesSayWhatIsWrong() throws {
    let dir = try copyOfBase("ckpt-messages")
    let path = dir + "/checkpoint/checkpoint.safetensors"
    let pristine = try FileIO.read(path)
    func resume(_ bytes: [UInt8]) throws -> RunOutput {
        try FileIO.writeAtomically(path, bytes)
        return try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=2"], timeout: 20)
    }
    var flipped = pristine
    flipped[flipped.count - 100] ^= 0x10
    let r1 = try resume(flipped)
    #expect(r1.status == 3)
    #expect(r1.stderr.contains("\(path): is not a usable checkpoint: its checksum does not match its contents"), "\(r1.stderr)")

    try FileIO.writeAtomically(path, pristine)
    try rewrite(path) { e, _ in
        var o = e.first { $0.name == "order" }?.int32s ?? []; o[3] = 999_999
        replace(&e, "order", with: Safetensors.Entry(name: "order", int32s: o))
    }
    let r2 = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=2"], timeout: 20)
    #expect(r2.status == 3)
    #expect(r2.stderr.contains("\(path): is not a usable checkpoint: order is not an arrangement of the 2700 training examples (it holds 999999)"),
            "\(r2.stderr)")

    try FileIO.writeAtomically(path, pristine)
    try rewrite(path) { _, m in try setState(&m, "step_in_epoch", .number(-5)) }
    let r3 = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=2"], timeout: 20)
    #expect(r3.status == 3)
    #expect(r3.stderr.contains("\(path): is not a usable checkpoint: state.step_in_epoch: expected a whole number in 0...9007199254740992, got -5"),
            "\(r3.stderr)")

    try FileIO.writeAtomically(path, pristine)
    try rewrite(path) { e, _ in replace(&e, "rng.shuffle", with: Safetensors.Entry(name: "rng.shuffle", uint64s: [0, 0, 0, 0])) }
    let r4 = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=2"], timeout: 20)
    #expect(r4.status == 3)
    #expect(r4.stderr.contains("\(path): is not a usable checkpoint: random state rng.shuffle is all zero"), "\(r4.stderr)")

    // Fewer epochs than the checkpoint has done: a config error, and config.json stays as it was.
    try FileIO.writeAtomically(path, pristine)
    let config = try FileIO.read(dir + "/config.json")
    let r5 = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=0"], timeout: 20)
    #expect(r5.status == 2)
    #expect(try FileIO.read(dir + "/config.json") == config)
}

/// One random mutation of a file: bit flips anywhere, a byte of the header overwritten, the
/// header length rewritten, a truncation or bytes appended. Returns the bytes and a label.
func mutate(_ bytes: [UInt8], _ rng: inout SplitMix64) -> ([UInt8], String) {
    var b = bytes
    let headerEnd = 8 + (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
    switch rng.next() % 6 {
    case 0, 1:
        let flips = 1 + Int(rng.next() % 3)
        for _ in 0..<flips { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1) << (rng.next() % 8) }
        return (b, "\(flips) bit flip(s)")
    case 2:
        let i = Int(rng.next() % UInt64(headerEnd))
        b[i] = UInt8(truncatingIfNeeded: rng.next())
        return (b, "header byte \(i) overwritten")
    case 3:
        let n = [UInt64(0), 1, UInt64(headerEnd - 9), UInt64(headerEnd - 7), 1 << 40, UInt64.max, rng.next()][Int(rng.next() % 7)]
        for i in 0..<8 { b[i] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(i))) }
        return (b, "header length \(n)")
    case 4:
        let keep = Int(rng.next() % UInt64(b.count))
        return (Array(b.prefix(keep)), "truncated to \(keep) bytes")
    default:
        let extra = 1 + Int(rng.next() % 64)
        return (b + (0..<extra).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, "\(extra) bytes appended")
    }
}

/// Whether `bytes` still decode to exactly the tensors and metadata of `original` with a
/// checksum that does not contradict them (required to match for a checkpoint).
func harmless(_ bytes: [UInt8], _ original: [UInt8], checksumRequired: Bool) -> Bool {
    guard let f = try? Safetensors.decodeFile(bytes), let o = try? Safetensors.decodeFile(original) else { return false }
    let checksumOK = checksumRequired ? f.checksumMatches == true : f.checksumMatches != false
    return checksumOK && f.entries == o.entries && (f.metadata == o.metadata || !checksumRequired)
}

/// How many mutated files of each kind, and the seed.
func fuzzFiles(default count: Int) -> (count: Int, seed: UInt64) {
    let env = ProcessInfo.processInfo.environment
    return (Int(env["NNTRAIN_FUZZ_FILES"] ?? "") ?? count, UInt64(env["NNTRAIN_FUZZ_SEED"] ?? "") ?? 20_261_205)
}

@Test func corruptCheckpointCorpusResumeExitsThreeNamingTheFile() throws {
    let (count, seed) = fuzzFiles(default: 120)
    let dir = try copyOfBase("ckpt-corpus")
    let path = dir + "/checkpoint/checkpoint.safetensors"
    let pristine = try FileIO.read(path)
    let before = try runFiles(dir)
    var rng = SplitMix64(seed: seed)
    let start = Date()
    var codes: [Int32: Int] = [:]
    for i in 0..<count {
        let (bytes, label) = mutate(pristine, &rng)
        try FileIO.writeAtomically(path, bytes)
        let r = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=2"], timeout: 20)
        codes[r.status, default: 0] += 1
        // A checksum covers every byte that matters: no mutation resumes, unless it left the
        // file's meaning whole (another whitespace byte in the header's padding).
        let same = harmless(bytes, pristine, checksumRequired: true)
        #expect(r.status == 3 || (same && r.status == 0), "case \(i) (\(label)): exit \(r.status)\n\(r.stderr)")
        if r.status != 0 { #expect(r.stderr.contains(path), "case \(i) (\(label)): \(r.stderr)") }
        if r.status == 0 { for (f, b) in before { try FileIO.writeAtomically(dir + "/" + f, b) } }
        #expect(try runFiles(dir) == before, "case \(i) (\(label)): the run's files changed")
    }
    print("corrupt checkpoint corpus: \(count) files, exits \(codes.sorted { $0.key < $1.key }), \(Int(Date().timeIntervalSince(start))) s")
}

/// One random field change, re-signed so that only the range checks stand between it and the
/// trainer: a state field, a metadata value or a tensor element set to an extreme value.
func mutateField(_ entries: inout [Safetensors.Entry], _ meta: inout [(String, String)], _ rng: inout SplitMix64) throws -> String {
    func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
    let numbers: [Double] = [-5, -1, 0, 1, 2, 99, 1e300, -1e300, 1e19, 9_007_199_254_740_992, 9_007_199_254_740_994, 1.5, 1e-300]
    let hex = String(rng.next(), radix: 16)
    let values: [JSONValue] = numbers.map { .number($0) } + [
        .string(hex), .string("7ff8000000000000"), .string("7ff0000000000000"), .string("zz"), .null, .array([]), .object([]), .bool(true),
    ]
    let value = pick(values)
    switch rng.next() % 4 {
    case 0, 1:
        let fields = ["epochs_done", "step_in_epoch", "global_step", "epoch_loss_sum", "epoch_correct", "epoch_seen", "epoch_seconds",
                      "epoch_weight", "log_loss_sum", "log_weight", "last_lr", "best", "best_epoch", "wait", "best_val_loss",
                      "best_val_accuracy", "samples_trained", "train_seconds", "skipped_batches", "plateau.scale", "plateau.best",
                      "plateau.bad_epochs", "plateau.cooldown_left", "last_curve.epoch", "last_curve.step", "last_curve.lr",
                      "last_curve.loss", "last_curve.accuracy", "last_curve.val_loss", "last_curve.seconds"]
        let field = pick(fields)
        let parts = field.split(separator: ".").map(String.init)
        try setState(&meta, parts.last!, value, in: parts.count > 1 ? parts[0] : nil)
        return "state.\(field) = \(value.serialized(indent: 0))"
    case 2:
        let key = pick(["optimizer_step", "threads", "nntrain_checkpoint", "config", "state"])
        let text = value.stringValue ?? value.serialized(indent: 0)
        meta = meta.map { $0.0 == key ? ($0.0, text) : $0 }
        return "\(key) = \(text)"
    default:
        let i = Int(rng.next() % UInt64(entries.count))
        let e = entries[i]
        guard !e.values.isEmpty else { return "(tensor \(e.name) left alone)" }
        let j = Int(rng.next() % UInt64(e.values.count))
        if e.dtype == .f32 {
            var v = e.values
            v[j] = pick([Float.nan, .infinity, -.infinity, 3e38, -1e-45, 0, 1e20])
            entries[i] = Safetensors.Entry(name: e.name, shape: e.shape, values: v)
            return "\(e.name)[\(j)] = \(v[j])"
        } else if e.dtype == .i32 {
            var v = e.int32s
            v[j] = pick([Int32.min, -1, 0, Int32.max, 2700, 3000, Int32(truncatingIfNeeded: rng.next())])
            entries[i] = Safetensors.Entry(name: e.name, int32s: v)
            return "\(e.name)[\(j)] = \(v[j])"
        } else {
            let words: [UInt64] = rng.next() % 2 == 0 ? [0, 0, 0, 0] : [rng.next(), rng.next(), rng.next(), rng.next()]
            entries[i] = Safetensors.Entry(name: e.name, uint64s: words)
            return "\(e.name) = \(words)"
        }
    }
}

@Test func corruptCheckpointFieldCorpusResumeNeverCrashes() throws {
    let (count, seed) = fuzzFiles(default: 30)
    let dir = try copyOfBase("ckpt-field-corpus")
    let path = dir + "/checkpoint/checkpoint.safetensors"
    let pristine = try FileIO.read(path)
    let before = try runFiles(dir)
    var rng = SplitMix64(seed: seed ^ 0xF1E1D)
    let start = Date()
    var codes: [Int32: Int] = [:]
    for i in 0..<count {
        try FileIO.writeAtomically(path, pristine)
        var label = ""
        try rewrite(path) { e, m in label = try mutateField(&e, &m, &rng) }
        let r = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=2"], timeout: 20)
        codes[r.status, default: 0] += 1
        // A value the checks accept (a time, a plausible sum, a weight) resumes — or diverges,
        // exit 4, when it is a finite weight or optimizer value too large to train on; anything
        // else is refused naming the file. Never a signal, never a hang.
        #expect([0, 2, 3, 4].contains(r.status), "case \(i) (\(label)): exit \(r.status)\n\(r.stderr)")
        if ProcessInfo.processInfo.environment["NNTRAIN_FUZZ_VERBOSE"] != nil { print("field case \(i): \(label) → \(r.status)") }
        if r.status == 2 || r.status == 3 {
            #expect(r.stderr.contains(path), "case \(i) (\(label)): \(r.stderr)")
            #expect(try runFiles(dir) == before, "case \(i) (\(label)): the run's files changed")
        }
        for (f, b) in before { try FileIO.writeAtomically(dir + "/" + f, b) }
    }
    print("corrupt checkpoint field corpus: \(count) files, exits \(codes.sorted { $0.key < $1.key }), \(Int(Date().timeIntervalSince(start))) s")
}

@Test func corruptModelFileCorpusEvalExitsThreeNamingTheFile() throws {
    let (count, seed) = fuzzFiles(default: 80)
    let dir = try copyOfBase("eval-corpus")
    let model = dir + "/model.safetensors", pre = dir + "/preprocess.safetensors"
    let pristine = [model: try FileIO.read(model), pre: try FileIO.read(pre)]
    let before = try runFiles(dir)
    var rng = SplitMix64(seed: seed ^ 0xE7A1)
    let start = Date()
    var codes: [Int32: Int] = [:]
    for i in 0..<count {
        let target = i % 4 == 3 ? pre : model
        let (bytes, label) = mutate(pristine[target]!, &rng)
        try FileIO.writeAtomically(target, bytes)
        let r = try nntrain(["eval", dir], timeout: 20)
        codes[r.status, default: 0] += 1
        // Harmless only if the file still decodes to the same tensors (whitespace in the header
        // padding, or the checksum key renamed: a file without one, as PyTorch re-saves it, is
        // trusted).
        let same = harmless(bytes, pristine[target]!, checksumRequired: false)
        #expect(r.status == 3 || (same && r.status == 0), "case \(i) (\(label) in \(target)): exit \(r.status)\n\(r.stderr)")
        if r.status != 0 { #expect(r.stderr.contains(target), "case \(i) (\(label)): \(r.stderr)") }
        try FileIO.writeAtomically(target, pristine[target]!)
        #expect(try runFiles(dir) == before)
    }
    print("corrupt model file corpus: \(count) files, exits \(codes.sorted { $0.key < $1.key }), \(Int(Date().timeIntervalSince(start))) s")
}

@Test func evalRefusesATransposedWeightAndCorruptPreprocessing() throws {
    let dir = try copyOfBase("eval-shapes")
    let model = dir + "/model.safetensors", pre = dir + "/preprocess.safetensors"
    let pristine = try FileIO.read(model), pristinePre = try FileIO.read(pre)
    // A [784, 128] weight has the element count of the model's [128, 784] one: refused.
    try rewrite(model) { e, _ in
        let w = floatsOf(e, "layers.1.weight")
        replace(&e, "layers.1.weight", with: Safetensors.Entry(name: "layers.1.weight", shape: [784, 128], values: w))
    }
    let t = try nntrain(["eval", dir], timeout: 20)
    #expect(t.status == 3)
    #expect(t.stderr.contains("\(model): tensor layers.1.weight has shape [784, 128], this run's model needs [128, 784]"), "\(t.stderr)")
    // An integer dtype is a dtype problem, not a shape problem.
    try FileIO.writeAtomically(model, pristine)
    try rewrite(model) { e, _ in
        let b = floatsOf(e, "layers.1.bias").map { Int64($0 * 1000) }
        replace(&e, "layers.1.bias", with: Safetensors.Entry(name: "layers.1.bias", shape: [b.count], int64s: b))
    }
    let d = try nntrain(["eval", dir], timeout: 20)
    #expect(d.status == 3)
    #expect(d.stderr.contains("\(model): tensor layers.1.bias has dtype I64, expected a floating-point dtype (F32)"), "\(d.stderr)")
    // A bit flip in the weights: the checksum.
    var flipped = pristine
    flipped[flipped.count - 40] ^= 0x01
    try FileIO.writeAtomically(model, flipped)
    let f = try nntrain(["eval", dir], timeout: 20)
    #expect(f.status == 3)
    #expect(f.stderr.contains("\(model): is corrupt: its checksum does not match its contents"), "\(f.stderr)")
    // NaN in the preprocessing statistics: a corrupt file (3), not a diverged model (4).
    try FileIO.writeAtomically(model, pristine)
    try rewrite(pre) { e, _ in
        var s = floatsOf(e, "scale"); s[100] = .nan
        replace(&e, "scale", with: Safetensors.Entry(name: "scale", shape: [s.count], values: s))
    }
    let p = try nntrain(["eval", dir], timeout: 20)
    #expect(p.status == 3)
    #expect(p.stderr.contains("\(pre): is corrupt: tensor scale holds nan at index 100"), "\(p.stderr)")
    // The untouched files still evaluate.
    try FileIO.writeAtomically(pre, pristinePre)
    #expect(try nntrain(["eval", dir], timeout: 20).status == 0)
}

@Test func hugeSparseSafetensorsAreRefusedBeforeTheirDataIsRead() throws {
    let dir = tempDir("sparse")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let nine: UInt64 = 9 << 30
    // 1: a valid header for 4 bytes of data, then 9 GiB of holes; 2: a header that promises a
    // 9 GiB tensor (more than the memory limit); 3: nothing but holes (header length 0).
    let small = Safetensors.encode([Safetensors.Entry(name: "w", shape: [1], values: [1])])
    let hugeHeader = Array(#"{"layers.1.weight": {"dtype": "F32", "shape": [2415919104], "data_offsets": [0, 9663676416]}}"#.utf8)
    let huge = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(hugeHeader.count) >> (8 * UInt64($0))) } + hugeHeader
    for (name, head, reason) in [("trailing", small, "bytes after its last tensor"), ("promised", huge, "memory limit"),
                                 ("holes", [UInt8](), "is not a safetensors file")] {
        let path = dir + "/\(name).safetensors"
        FileManager.default.createFile(atPath: path, contents: Data(head))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: UInt64(head.count) + nine)
        try h.close()
        let t0 = Date()
        // 2 GiB of address space: reading the file whole would fail to allocate (SIGABRT).
        let r = try nntrain(["run", "configs/quickstart.json", "--out", dir + "/run-\(name)", "--quiet",
                             "--set", "model.from=\(path)", "--set", "training.epochs=1"], memoryLimitKB: 2 << 20, timeout: 60)
        #expect(r.status == 3, "\(name): exit \(r.status)\n\(r.stderr)")
        #expect(r.stderr.contains(path) && r.stderr.contains(reason), "\(name): \(r.stderr)")
        #expect(Date().timeIntervalSince(t0) < 10, "\(name): took \(Date().timeIntervalSince(t0)) s")
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The checks refuse only what is wrong: a checkpoint of every trick that keeps state resumes
/// (reduce_on_plateau in its cooldown, which may outlast the epochs done; oversampling, whose
/// order repeats examples; skipped batches; augmentation; early stopping; batch norm).
@Test(arguments: [
    #"schedule={"type": "reduce_on_plateau", "patience": 0, "cooldown": 5, "threshold": 0.9}"#,
    #"data.balance="oversample""#,
    #"training.on_nan="skip_batch""#,
    #"data.augment=[{"type": "random_crop", "padding": 2}]"#,
    #"training.early_stopping={"monitor": "val_accuracy", "patience": 5, "restore_best": true}"#,
    #"model.layers.1={"type": "batch_norm"}"#,
])
func checkpointsOfEveryTrickResume(setting: String) throws {
    let dir = tempDir("ckpt-trick-\(setting.hashValue & 0xFFFF)")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=2", "--set", setting], timeout: 60)
    try #require(r.status == 0, "\(r.stderr)")
    if setting.contains("cooldown") {
        let meta = try Safetensors.decodeFile(try FileIO.read(dir + "/checkpoint/checkpoint.safetensors")).metadata
        let state = try JSONValue.parse(meta["state"] ?? "")
        #expect(state["plateau"]?["cooldown_left"]?.doubleValue == 5, "\(meta["state"] ?? "")")
    }
    let resumed = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=3"], timeout: 60)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try read(dir + "/curves.csv").split(separator: "\n").count == 4)
}
