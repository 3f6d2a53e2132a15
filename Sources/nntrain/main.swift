import NNCore
import NNTrain

// nntrain: the thin CLI. Argument parsing and exit codes only; the work is in NNTrain.
let args = CommandLine.arguments.dropFirst()

func dispatch(_ args: ArraySlice<String>) -> Int32 {
    guard let command = args.first else {
        printError(Help.overview)
        return 2
    }
    let rest = args.dropFirst()
    switch command {
    case "run": return runCommand(rest)
    case "validate": return validateCommand(rest)
    case "eval": return evalCommand(rest)
    case "diagnose": return diagnoseCommand(rest)
    case "sweep": return sweepCommand(rest)
    case "bench": return benchCommand(rest)
    case "lr-find": return lrFindCommand(rest)
    case "report": return reportCommand(rest)
    case "predict": return predictCommand(rest)
    case "average": return averageCommand(rest)
    case "export": return exportCommand(rest)
    case "--version", "-V", "version":
        printOut("nntrain \(Experiment.version)")
        return 0
    case "--help", "-h", "help":
        guard let topic = rest.first else { printOut(Help.overview); return 0 }
        guard let text = Help.command(topic) else {
            printError("error: \(unknownCommand(topic, what: "help topic"))")
            printError("usage: nntrain help [\(Help.commands.joined(separator: " | "))]")
            return 2
        }
        printOut(text)
        return 0
    default:
        printError("error: \(unknownCommand(command, what: "command"))")
        printError("usage: nntrain run CONFIG | nntrain sweep SWEEP | nntrain validate CONFIG | nntrain --help")
        return 2
    }
}

/// What other tools call nntrain's commands (`train` is Keras's `fit` and many scripts' name).
let commandNearMisses = ["train": "run", "fit": "run", "evaluate": "eval", "test": "eval", "infer": "predict", "inference": "predict", "swa": "average",
                         "onnx": "export", "convert": "export", "check": "validate",
                         "lint": "validate", "search": "sweep", "tune": "sweep", "benchmark": "bench"]

/// `unknown command "train". Did you mean "run"?`
func unknownCommand(_ word: String, what: String) -> String {
    var msg = "unknown \(what) \"\(word)\""
    if let c = commandNearMisses[word.lowercased()] ?? closest(to: word, in: Help.commands + (what == "command" ? ["help"] : [])) {
        msg += ". Did you mean \"\(c)\"?"
    }
    return msg
}

// A file grown past `ulimit -f` makes `write` fail with EFBIG (a write error, exit 1 naming
// the file) instead of SIGXFSZ killing the process.
signal(SIGXFSZ, SIG_IGN)
// A reader that goes away (`nntrain eval … | head -1`) is no failure: writes see EPIPE
// (`standardOutputFailure` leaves it alone) instead of SIGPIPE killing the process.
signal(SIGPIPE, SIG_IGN)
let code = dispatch(args)
if let reason = standardOutputFailure {
    printError("error: cannot write the results to standard output: \(reason)")
    exit(code == 0 ? 1 : code)
}
exit(code)
