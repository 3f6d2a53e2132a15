import NNCore
import NNTrain

/// `nntrain report RUN_DIR... [--out FILE]`: one self-contained HTML page of the runs. One
/// run: `RUN_DIR/report.html` unless `--out`; several: `--out` is required. Exit 2 for usage,
/// a directory that holds no run or a sweep directory; 3 for a file that does not read; 1
/// when the page cannot be written.
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
    do { try RunReport.write(directories: dirs, to: out) } catch {
        printError("error: " + error.description)
        return error.exitCode
    }
    printOut("report: \(out)")
    return 0
}
