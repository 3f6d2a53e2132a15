import NNCore
import NNTrain

/// `nntrain diagnose RUN_DIR [--json]`: the diagnosis of a run, recomputed from its files.
/// Exit 0 whatever it finds; 2 for usage or a directory that holds no run; 3 for a file that
/// does not read.
func diagnoseCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    do { parsed = try Arguments(args, command: "diagnose", valued: [], boolean: ["--json", "--help", "-h"]) } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.diagnose); return 0 }
    guard parsed.positionals.count == 1 else { return usage(UsageError(message: "expected one RUN_DIR", command: "diagnose")) }
    let dir = parsed.positionals[0]
    let findings: [Finding]
    do { findings = Diagnosis.findings(try RunFigures.read(runDirectory: dir)) } catch {
        printError("error: " + error.description)
        return error.exitCode
    }
    if parsed.has("--json") {
        printOut(JSONValue.object([("run_dir", .string(dir)), ("diagnosis", .array(findings.map(\.json)))]).serialized())
    } else {
        for line in diagnosisLines(findings) { printOut(line) }
    }
    return 0
}

/// One line per finding: `lr_too_low: the loss falls slowly …`; `healthy` alone.
func diagnosisLines(_ findings: [Finding]) -> [String] {
    findings.map { $0.code == "healthy" ? $0.code : "\($0.code): \($0.message)" }
}

/// The findings in a summary.json's `diagnosis` (none in one from before it existed).
func diagnosisLines(summary: JSONValue?) -> [String] {
    guard case .array(let items)? = summary?["diagnosis"] else { return [] }
    return items.compactMap { item in
        guard case .string(let code)? = item["code"], case .string(let message)? = item["message"] else { return nil }
        return code == "healthy" ? code : "\(code): \(message)"
    }
}
