import Foundation
import NNCore
import Testing

// A sweep's own files as a hostile user or an unlucky disk leaves them: mutated ledger records,
// heartbeats and plan.json (bit flips, extreme numbers, wrong types, truncation, sparse giants,
// non-UTF-8, names that disagree with their content). `sweep collect`, `sweep trial` and
// `sweep DIR` never die by a signal or hang; a bad record is skipped with a warning naming its
// file (exit 0); a bad plan.json is exit 2 naming it; nothing is written outside the sweep.
// `make test` runs a fixed sample; `make fuzz` NNTRAIN_FUZZ_FILES (5,000) files of each kind.

/// A small generator for the mutations (SplitMix64, so a seed repeats a corpus).
private struct Mutator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }

    static let numbers = ["1e300", "-1e300", "1e309", "-0", "99999999999", "1e15", "9007199254740993", "-1", "0", "2.5",
                          "1e-320", "18446744073709551616", "\"7\"", "null", "true", "[]", "{}", "NaN"]

    /// One mutation of `bytes`, and what it was (for the failure message).
    mutating func mutate(_ bytes: [UInt8]) -> (bytes: [UInt8], what: String) {
        var b = bytes
        switch below(9) {
        case 0:
            let n = 1 + below(4)
            for _ in 0..<n where !b.isEmpty { b[below(b.count)] ^= UInt8(1 << below(8)) }
            return (b, "\(n) bit flips")
        case 1:
            // Replace one number of the record with an extreme one (or another type).
            let text = String(decoding: b, as: UTF8.self)
            let scalars = Array(text.unicodeScalars)
            var spans: [Range<Int>] = []
            var i = 0
            while i < scalars.count {
                if (scalars[i] >= "0" && scalars[i] <= "9") || scalars[i] == "-" {
                    let s = i
                    while i < scalars.count, "0123456789.eE+-".unicodeScalars.contains(scalars[i]) { i += 1 }
                    spans.append(s..<i)
                } else { i += 1 }
            }
            guard !spans.isEmpty else { return (b, "no number to replace") }
            let span = spans[below(spans.count)]
            let v = Mutator.numbers[below(Mutator.numbers.count)]
            var out = String.UnicodeScalarView()
            out.append(contentsOf: scalars[..<span.lowerBound])
            out.append(contentsOf: v.unicodeScalars)
            out.append(contentsOf: scalars[span.upperBound...])
            return (Array(String(out).utf8), "a number replaced by \(v)")
        case 2: return (Array(b.prefix(below(b.count + 1))), "truncated")
        case 3: return ([], "empty")
        case 4:
            for _ in 0..<(1 + below(6)) where !b.isEmpty { b[below(b.count)] = UInt8(0x80 + below(0x80)) }
            return (b, "non-UTF-8 bytes")
        case 5:
            // Strings where numbers go, numbers where strings go.
            let text = String(decoding: b, as: UTF8.self)
            let swaps = [("\"host\":", "\"host\":1e300,\"x\":"), ("\"status\":\"completed\"", "\"status\":1"),
                         ("\"pid\":", "\"pid\":\"1\",\"y\":"), ("\"time\":", "\"time\":[1],\"z\":"), ("\"trial\":", "\"trial\":{},\"w\":")]
            let (a, c) = swaps[below(swaps.count)]
            return (Array(text.replacingOccurrences(of: a, with: c).utf8), "wrong type at \(a)")
        case 6: return (Array(repeating: UInt8(ascii: "["), count: 10_000), "10,000 nested brackets")
        case 7: return (b + b, "the record twice")
        default:
            // The record of another task: content that disagrees with the file name.
            let text = String(decoding: b, as: UTF8.self)
            return (Array(text.replacingOccurrences(of: "\"trial\":0", with: "\"trial\":1")
                .replacingOccurrences(of: "\"attempt\":1", with: "\"attempt\":2").utf8), "another task's record")
        }
    }
}

/// Every file under `dir` with its size (what "nothing changed outside" compares).
private func listing(_ dir: String) -> [String: Int] {
    var out: [String: Int] = [:]
    let e = FileManager.default.enumerator(atPath: dir)
    while let f = e?.nextObject() as? String {
        out[f] = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + f)[.size] as? Int) ?? -1
    }
    return out
}

@Test func corruptSweepLedgerHeartbeatAndPlanCorpus() throws {
    let env = ProcessInfo.processInfo.environment
    // Files of each kind (ledger record, heartbeat, plan.json).
    let perKind = Int(env["NNTRAIN_FUZZ_FILES"] ?? "") ?? 30
    var rng = Mutator(state: UInt64(env["NNTRAIN_FUZZ_SEED"] ?? "") ?? 17)
    let top = tempDir("sweep-corpus")
    let dir = top + "/s"
    try FileManager.default.createDirectory(atPath: top, withIntermediateDirectories: true)
    let planned = try nntrain(["sweep", "plan", root + "configs/quickstart.json", "--param", "optimizer.lr=log:1e-4:1e-2",
                               "--param", "training.epochs=1", "--trials", "2", "--out", dir, "--quiet"])
    #expect(planned.status == 0, "\(planned.stderr)")
    let ran = try nntrain(["sweep", dir, "--threads", "1", "--quiet"], timeout: 120)
    try #require(ran.status == 0, "\(ran.stderr)")
    // The pristine files: the sweep's records and its plan.
    var pristine: [String: [UInt8]] = [:]
    for sub in ["ledger", "heartbeats"] {
        for f in FileIO.listDirectory(dir + "/" + sub) { pristine[sub + "/" + f] = try FileIO.read(dir + "/" + sub + "/" + f) }
    }
    pristine["plan.json"] = try FileIO.read(dir + "/plan.json")
    let targets = pristine.keys.sorted()
    #expect(targets.count >= 5, "\(targets)")
    // What lies beside the sweep: its parent folder and the working directory of the runs.
    let outside = (listing(top).filter { !$0.key.hasPrefix("s/") && $0.key != "s" }, Set(FileIO.listDirectory(root)))
    let pristineTrials = try read(dir + "/trials.csv")

    var counts: [String: Int] = [:]
    var warned = 0
    let start = Date()
    // The reproductions first (each a SIGILL or a hang before), then the seeded mutations.
    let known: [(target: String, what: String, bytes: [UInt8]?)] = [
        ("heartbeats/0000-r0-a1", "pid 1e15", Array(#"{"host":"h","pid":1e15,"time":1}"#.utf8)),
        ("ledger/claim-0000-r0-a1.json", "pid 99999999999", Array(#"{"trial":0,"rung":0,"attempt":1,"host":"h","pid":99999999999,"time":1}"#.utf8)),
        ("ledger/result-0001-r0-a1.json", "trial 1e300", Array(#"{"trial":1e300,"rung":0,"attempt":1,"status":"completed","metric":0.5}"#.utf8)),
        ("ledger/claim-0001-r0-a1.json", "a FIFO", nil),
        ("plan.json", "seed 1e300", nil),
    ]
    let count = known.count + 3 * perKind
    for k in 0..<count {
        // Restore, then mutate one file (ledger, heartbeat and plan in turn) and sometimes add one.
        for sub in ["ledger", "heartbeats"] {
            for f in FileIO.listDirectory(dir + "/" + sub) where pristine[sub + "/" + f] == nil {
                try? FileManager.default.removeItem(atPath: dir + "/" + sub + "/" + f)
            }
        }
        for (f, b) in pristine {
            try? FileManager.default.removeItem(atPath: dir + "/" + f)   // a FIFO or a folder left by the last case
            try FileIO.writeAtomically(dir + "/" + f, b)
        }
        let kinds = ["ledger", "heartbeats", "plan.json"]
        var kind = kinds[k % kinds.count]
        let candidates = targets.filter { $0.hasPrefix(kind) }
        var target = candidates[rng.below(candidates.count)]
        var what: String
        if k < known.count {
            let c = known[k]
            target = c.target
            kind = String(target.split(separator: "/").first ?? "")
            what = c.what
            if let b = c.bytes {
                try FileIO.writeAtomically(dir + "/" + target, b)
            } else if target == "plan.json" {
                let text = String(decoding: pristine[target] ?? [], as: UTF8.self)
                try FileIO.writeAtomically(dir + "/" + target, text: text.replacing(#""seed":"#, with: #""seed":1e300,"s":"#))
            } else {
                try FileManager.default.removeItem(atPath: dir + "/" + target)
                mkfifo(dir + "/" + target, 0o644)
            }
        } else if kind != "plan.json" && rng.below(8) == 0 {
            // A sparse giant, a FIFO or a directory where a record goes.
            let path = dir + "/" + target
            try FileManager.default.removeItem(atPath: path)
            switch rng.below(3) {
            case 0:
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                ftruncate(fd, 9 << 30)
                close(fd)
                what = "a 9 GB sparse file"
            case 1: mkfifo(path, 0o644); what = "a FIFO"
            default: try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false); what = "a directory"
            }
        } else {
            let m = rng.mutate(pristine[target] ?? [])
            what = m.what
            if kind == "ledger" && rng.below(6) == 0 {
                // A new record of the next attempt, mutated, beside the pristine ones.
                target = target.replacingOccurrences(of: "-a1.json", with: "-a2.json")
                what += " (as attempt 2)"
            }
            try FileIO.writeAtomically(dir + "/" + target, m.bytes)
        }
        counts[kind, default: 0] += 1
        let label = "case \(k): \(target): \(what)"
        let out = try nntrain(["sweep", "collect", dir], timeout: 60)
        #expect(out.status < 128, "\(label): killed by signal \(out.status - 128)\n\(out.stderr)")
        if kind == "plan.json" {
            #expect([0, 2].contains(out.status), "\(label): exit \(out.status)\n\(out.stderr)")
            if out.status == 2 { #expect(out.stderr.contains(dir + "/plan.json"), "\(label): \(out.stderr)") }
        } else {
            #expect(out.status == 0, "\(label): exit \(out.status)\n\(out.stderr)")
            // Every warning is a skipped record of the mutated file, named.
            let warnings = out.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") && $0.contains(": skipped: ") }
            for w in warnings { #expect(w.hasPrefix("warning: " + dir + "/" + target + ": skipped: "), "\(label): \(w)") }
            if !warnings.isEmpty { warned += 1 }
            // Both trials stay completed with their metric, whatever happened to the records.
            let rows = out.stdout.split(separator: "\n")
            #expect(rows.contains { $0.hasPrefix("2 completed") } || !warnings.isEmpty || what.contains("attempt 2"), "\(label): \(out.stdout)")
        }
        if k % (perKind <= 100 ? 5 : 50) == 0 {
            // A worker asked for trial 0, and a whole sweep run: they end (at once: nothing to train, or a 1-epoch resume).
            let trial = try nntrain(["sweep", "trial", dir, "--index", "0", "--threads", "1", "--quiet"], timeout: 120)
            #expect(trial.status < 128 && [0, 2].contains(trial.status), "\(label): sweep trial exit \(trial.status)\n\(trial.stderr)")
            let again = try nntrain(["sweep", dir, "--threads", "1", "--quiet", "--stale-after", "1"], timeout: 120)
            #expect(again.status < 128 && [0, 2].contains(again.status), "\(label): sweep DIR exit \(again.status)\n\(again.stderr)")
        }
    }
    // Nothing outside the sweep directory changed.
    #expect(listing(top).filter { !$0.key.hasPrefix("s/") && $0.key != "s" } == outside.0)
    #expect(Set(FileIO.listDirectory(root)) == outside.1)
    for (f, b) in pristine {
        try? FileManager.default.removeItem(atPath: dir + "/" + f)
        try FileIO.writeAtomically(dir + "/" + f, b)
    }
    let final = try nntrain(["sweep", "collect", dir, "--quiet"])
    let finalTrials = try read(dir + "/trials.csv")
    #expect(final.status == 0 && finalTrials.split(separator: "\n").count == pristineTrials.split(separator: "\n").count)
    print("sweep corpus: \(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) mutated files, \(warned) with a skipped-record warning, \(Int(Date().timeIntervalSince(start))) s")
}
