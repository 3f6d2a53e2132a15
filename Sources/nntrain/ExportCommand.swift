import NNCore
import NNTrain

/// `nntrain export RUN_DIR --format onnx [--out FILE] [--probabilities]`: the run's inference
/// path as an ONNX model; `--format torch [--out DIR]`: as `DIR/model.py` (PyTorch source).
/// Exit 2 for usage, an unknown format, a layer without an ONNX (PyTorch) form, or
/// --probabilities without softmax (or with torch); 3 for a run file that does not read
/// (naming it); 1 when the file cannot be written.
func exportCommand(_ args: ArraySlice<String>) -> Int32 {
    let p: Arguments
    do {
        p = try Arguments(args, command: "export", valued: ["--format", "--out", "-o"], boolean: ["--probabilities", "--quiet", "--help", "-h"])
    } catch {
        return usage(error)
    }
    if p.has("--help") || p.has("-h") { printOut(Help.export); return 0 }
    guard p.positionals.count == 1, let dir = p.positionals.first else {
        return usage(UsageError(message: p.positionals.isEmpty ? "expected a RUN_DIR" : "expected one RUN_DIR, got \(p.positionals.count)", command: "export"))
    }
    guard let format = p.value("--format") else {
        return usage(UsageError(message: "--format is required: --format onnx or --format torch", command: "export"))
    }
    switch format {
    case "onnx": break
    case "torch", "pytorch":
        if p.has("--probabilities") {
            return usage(UsageError(message: "--probabilities: onnx only; with torch, apply torch.softmax(logits, -1) to Model's output", command: "export"))
        }
    default: return usage(UsageError(message: "--format \(format): expected onnx or torch", command: "export"))
    }
    let outs = p.all("--out") + p.all("-o")
    guard outs.count <= 1 else { return usage(UsageError(message: "--out given more than once", command: "export")) }
    if format != "onnx" { return exportTorch(dir, outDir: outs.first ?? dir, quiet: p.has("--quiet")) }
    let out = outs.first ?? dir + "/model.onnx"
    do {
        let trained = try TrainedModel.load(dir)
        let (bytes, s) = try ONNXExport.model(trained, probabilities: p.has("--probabilities"))
        do { try FileIO.writeAtomically(out, bytes) } catch {
            printError("error: cannot write \(out): \(error)")
            return 1
        }
        if !p.has("--quiet") {
            printOut("wrote \(out): ONNX (opset 17), input \"input\" \(s.inputType) \(s.inputShape) → \"\(s.output)\" float32 [N, \(s.outputCount)]; "
                + "\(s.nodes) nodes, \(s.initializers) initializers, \(s.bytes) bytes")
        }
        return 0
    } catch {
        printError(error.description)
        return error.exitCode
    }
}


/// `--format torch`: writes `outDir/model.py` (the folder made when missing).
private func exportTorch(_ dir: String, outDir: String, quiet: Bool) -> Int32 {
    do {
        let trained = try TrainedModel.load(dir)
        let (text, s) = try TorchExport.source(trained)
        let out = (outDir.hasSuffix("/") ? String(outDir.dropLast()) : outDir) + "/model.py"
        do {
            try FileIO.makeDirectories(outDir)
            try FileIO.writeAtomically(out, text: text)
        } catch {
            printError("error: cannot write \(out): \(error)")
            return 1
        }
        if !quiet {
            printOut("wrote \(out): PyTorch class Model, input \(s.inputType) \(s.inputShape) → logits float32 [N, \(s.outputCount)]; "
                + "\(s.stateNames.count) state_dict tensors (model.safetensors' names); from model import load; load(\"\(dir)\")")
        }
        return 0
    } catch {
        printError(error.description)
        return error.exitCode
    }
}
