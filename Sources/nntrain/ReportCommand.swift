import NNCore
import NNTrain

/// `nntrain report RUN_DIR... | SWEEP_DIR [--out FILE]`: one self-contained HTML page of the
/// runs, or of a sweep. One run or a sweep: `DIR/report.html` unless `--out`; several runs:
/// `--out` is required. Exit 2 for usage, a directory that holds no run, a sweep given with
/// other directories, or a sweep whose plan.json does not load; 3 for a run file that does
/// not read; 1 when the page cannot be written.
func reportCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    do { parsed = try Arguments(args, command: "report", valued: ["--out", "-o"], boolean: ["--help", "-h"]) } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.report); return 0 }
    let dirs = parsed.positionals
    guard !dirs.isEmpty else { return usage(UsageError(message: "expected at least one RUN_DIR", command: "report")) }
    let outs = (parsed.values["--out"] ?? []) + (parsed.values["-o"] ?? [])
    guard outs.count <= 1 else { return usage(UsageError(message: "--out given more than once", command: "report")) }
    guard let out = outs.first ?? (dirs.count == 1 ? dirs[0] + "/report.html" : nil) else {
        return usage(UsageError(message: "several runs need --out FILE (where to write the page)", command: "report"))
    }
    let sweeps = dirs.filter(SweepPage.isSweep)
    if !sweeps.isEmpty && dirs.count > 1 {
        return usage(UsageError(message: "\(sweeps[0]) is a sweep directory: report it alone (nntrain report \(sweeps[0]))", command: "report"))
    }
    do {
        if sweeps.isEmpty { try RunReport.write(directories: dirs, to: out) } else { try SweepPage.write(directory: dirs[0], to: out) }
    } catch {
        printError("error: " + error.description)
        return error.exitCode
    }
    printOut("report: \(out)")
    return 0
}
