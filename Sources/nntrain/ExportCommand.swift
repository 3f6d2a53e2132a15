import NNCore
import NNTrain

/// `nntrain export RUN_DIR --format onnx [--out FILE] [--probabilities]`: the run's inference
/// path as an ONNX model. Exit 2 for usage, a format other than onnx (torch: not yet), a layer
/// without an ONNX form, or --probabilities without softmax; 3 for a run file that does not
/// read (naming it); 1 when the model cannot be written.
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
        return usage(UsageError(message: "--format is required: --format onnx", command: "export"))
    }
    switch format {
    case "onnx": break
    case "torch", "pytorch", "pt": return usage(UsageError(message: "--format \(format): not yet supported (only onnx)", command: "export"))
    default: return usage(UsageError(message: "--format \(format): expected onnx", command: "export"))
    }
    let outs = p.all("--out") + p.all("-o")
    guard outs.count <= 1 else { return usage(UsageError(message: "--out given more than once", command: "export")) }
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
