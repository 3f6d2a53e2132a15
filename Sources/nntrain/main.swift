#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
    case "sweep": return sweepCommand(rest)
    case "bench": return benchCommand(rest)
    case "--version", "-V", "version":
        printOut("nntrain \(Experiment.version)")
        return 0
    case "--help", "-h", "help":
        switch rest.first {
        case "run"?: printOut(Help.run)
        case "validate"?: printOut(Help.validate)
        case "eval"?: printOut(Help.eval)
        case "sweep"?: printOut(Help.sweep)
        case "bench"?: printOut(Help.bench)
        default: printOut(Help.overview)
        }
        return 0
    default:
        var msg = "unknown command \"\(command)\""
        if let c = closest(to: command, in: ["run", "validate", "eval", "sweep", "bench", "help"]) { msg += ". Did you mean \"\(c)\"?" }
        printError("error: \(msg)")
        printError("usage: nntrain run CONFIG | nntrain sweep SWEEP | nntrain validate CONFIG | nntrain --help")
        return 2
    }
}

exit(dispatch(args))
