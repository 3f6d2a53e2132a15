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
                    if let c = closestOption(name, all) { msg += ". Did you mean \(c)?" }
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

private func closestOption(_ word: String, _ options: [String]) -> String? {
    var best: (String, Int)?
    for o in options {
        let d = distance(word, o)
        if d <= 3 && (best == nil || d < best!.1) { best = (o, d) }
    }
    return best?.0
}

private func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var prev = Array(0...b.count), cur = prev
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count { cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)) }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
