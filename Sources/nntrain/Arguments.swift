import NNTrain

/// A usage error: wrong flags or arguments (exit code 2).
struct UsageError: Error { var message: String; var command: String? }

/// Command-line arguments of one subcommand: flags with values, boolean flags, positionals.
struct Arguments {
    var positionals: [String] = []
    var values: [String: [String]] = [:]
    var flags: Set<String> = []

    /// Parses `args` given the flags that take a value and those that do not.
    init(_ args: ArraySlice<String>, command: String, valued: [String], boolean: [String]) throws(UsageError) {
        var i = args.startIndex
        while i < args.endIndex {
            let a = args[i]
            if a == "--" { positionals += args[(i + 1)...]; break }
            if a.hasPrefix("-") && a.count > 1 {
                var name = a
                var inline: String? = nil
                if let eq = a.firstIndex(of: "="), a.hasPrefix("--") {
                    name = String(a[..<eq])
                    inline = String(a[a.index(after: eq)...])
                }
                if valued.contains(name) {
                    if let inline { values[name, default: []].append(inline) } else {
                        i += 1
                        guard i < args.endIndex else { throw UsageError(message: "\(name) needs a value", command: command) }
                        values[name, default: []].append(args[i])
                    }
                } else if boolean.contains(name) {
                    flags.insert(name)
                } else {
                    let all = valued + boolean
                    var msg = "unknown option \(name)"
                    let setFlag = valued.contains("--set") ? "--set" : valued.contains("--param") ? "--param" : nil
                    if let key = configFlags[name], let setFlag {
                        // `--epochs 2`: the value is the next argument unless that is a flag.
                        var value = inline
                        if value == nil, i + 1 < args.endIndex, !args[i + 1].hasPrefix("-") || Double(args[i + 1]) != nil {
                            value = args[i + 1]
                        }
                        msg += "; use \(setFlag) \(key)=\(value ?? "VALUE")"
                    } else if let c = closestOption(name, all) {
                        msg += ". Did you mean \(c)?"
                    }
                    throw UsageError(message: msg, command: command)
                }
            } else {
                positionals.append(a)
            }
            i += 1
        }
    }

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { flags.contains(name) }

    func int(_ name: String, range: ClosedRange<Int>, command: String) throws(UsageError) -> Int? {
        guard let v = value(name) else { return nil }
        guard let n = Int(v), range.contains(n) else {
            throw UsageError(message: "\(name): expected an integer in \(range.lowerBound)...\(range.upperBound), got \(v)", command: command)
        }
        return n
    }
}

/// Flags other training scripts take for a config value, and that value's path: nntrain sets
/// config values with `--set` only (`--epochs 2` → `--set training.epochs=2`).
let configFlags = [
    "--epochs": "training.epochs", "--batch-size": "training.batch_size", "--batch_size": "training.batch_size",
    "--lr": "optimizer.lr", "--learning-rate": "optimizer.lr", "--learning_rate": "optimizer.lr",
    "--optimizer": "optimizer.type", "--momentum": "optimizer.momentum", "--weight-decay": "optimizer.weight_decay",
    "--weight_decay": "optimizer.weight_decay", "--seed": "seed", "--name": "name", "--patience": "training.early_stopping.patience",
]

/// The option closest to `word`, compared without the leading dashes (so `--bogus` is not
/// "close" to `--out` merely by sharing them).
private func closestOption(_ word: String, _ options: [String]) -> String? {
    func bare(_ o: String) -> String { String(o.drop { $0 == "-" }) }
    let long = options.filter { $0.hasPrefix("--") }
    guard let c = closest(to: bare(word), in: long.map(bare)) else { return nil }
    return long.first { bare($0) == c }
}
