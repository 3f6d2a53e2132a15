import NNCore
import NNTrain

/// `nntrain average RUN_DIR [--snapshots SPEC] [--out DIR] [--force] [--threads N] [--json]`.
/// Exit 2 for usage, a run without snapshots or an output that holds a run; 3 for a file
/// that does not read; 4 for weights or a test loss that are not finite; 1 when DIR cannot
/// be written.
func averageCommand(_ args: ArraySlice<String>) -> Int32 {
    let p: Arguments
    let threads: Int?
    do {
        p = try Arguments(args, command: "average", valued: ["--snapshots", "--out", "-o", "--threads"],
                          boolean: ["--force", "--json", "--quiet", "--help", "-h"])
        threads = try p.int("--threads", range: 1...1024, command: "average")
    } catch {
        return usage(error)
    }
    if p.has("--help") || p.has("-h") { printOut(Help.average); return 0 }
    guard p.positionals.count == 1 else { return usage(UsageError(message: "expected one RUN_DIR", command: "average")) }
    let dir = p.positionals[0]
    let outs = p.all("--out") + p.all("-o")
    guard outs.count <= 1 else { return usage(UsageError(message: "--out given more than once", command: "average")) }
    let base = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
    let out = outs.first ?? base + "-swa"
    do {
        let r = try Averaging.run(directory: dir, snapshots: p.value("--snapshots") ?? "all", out: out, force: p.has("--force"), threads: threads)
        if p.has("--json") {
            printOut(r.summary.serialized())
        } else if !p.has("--quiet") {
            printOut("averaged \(r.members.count) snapshots of \(dir) (epochs \(r.members.map { String($0.epoch) }.joined(separator: ", "))) into \(out)"
                     + (r.recomputedBatchNorm ? "; batch norm statistics recomputed over the training split" : ""))
            if let l = r.testLoss { printOut("test loss \(fmt(l, 4))" + (r.testAccuracy.map { "  test accuracy \(fmt($0, 4))" } ?? "")) }
        }
        return 0
    } catch {
        printError(error.description)
        return error.exitCode
    }
}
