import NNCore

// What `nntrain run` prints on a terminal, as pure functions of the figures and the width
// (the CLI measures the terminal and the locale; the tests call these at fixed widths).

/// One redraw of the progress bar: a pure function of the figures and the terminal width.
///
/// `epoch 3/10 ██████······ 45/86  loss 0.4123  2345 samples/s  elapsed 0:12  ETA 1:05`
///
/// The ETA is the whole run's (the remaining steps of every epoch at the rate measured so far).
/// The line never reaches the last column (so a terminal never wraps it); the bar takes 8 to 30
/// columns, and where the width is short `2345 samples/s` becomes `2345/s`, then the fields go
/// in this order: elapsed, samples/s, step count, bar, loss; the epoch and the ETA stay.
public struct ProgressLine: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var steps: Int
    public var loss: Double
    public var elapsed: Double
    public var samplesPerSecond: Double? = nil
    public var eta: Double? = nil

    public init(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, elapsed: Double,
                samplesPerSecond: Double? = nil, eta: Double? = nil) {
        self.epoch = epoch; self.epochs = epochs; self.step = step; self.steps = steps; self.loss = loss
        self.elapsed = elapsed; self.samplesPerSecond = samplesPerSecond; self.eta = eta
    }

    /// The line after `stepsThisRun` steps in `elapsed` seconds of this process (a resumed run
    /// counts from where it resumed): samples/s from the epoch's share of `trainExamples`, and
    /// the whole run's ETA, every remaining step of every epoch at the rate so far.
    public static func measured(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, elapsed: Double,
                                stepsThisRun: Int, trainExamples: Int?) -> ProgressLine {
        var line = ProgressLine(epoch: epoch, epochs: epochs, step: step, steps: steps, loss: loss, elapsed: elapsed)
        guard elapsed > 0, stepsThisRun > 0, steps > 0 else { return line }
        let stepsPerSecond = Double(stepsThisRun) / elapsed
        if let n = trainExamples { line.samplesPerSecond = stepsPerSecond * Double(n) / Double(steps) }
        let done = (epoch - 1) * steps + step
        line.eta = Double(max(0, epochs * steps - done)) / stepsPerSecond
        return line
    }

    /// The line for a terminal `width` columns wide, with block characters or ASCII.
    public func render(width: Int, unicode: Bool) -> String {
        let room = max(0, width - 1)
        let fraction = steps > 0 ? min(1, max(0, Double(step) / Double(steps))) : 0
        // The bar is the field without text: it takes the room that is left. A field with a
        // short form is shortened before any field is left out.
        struct Field { var text: String?; var short: String? = nil; var priority: Int }
        var fields = [Field(text: "epoch \(epoch)/\(epochs)", priority: 100), Field(text: nil, priority: 70),
                      Field(text: "\(step)/\(steps)", priority: 60), Field(text: "loss \(fmt(loss, 4))", priority: 80)]
        if let r = samplesPerSecond, r.isFinite { fields.append(Field(text: "\(fmt(r, 0)) samples/s", short: "\(fmt(r, 0))/s", priority: 50)) }
        fields.append(Field(text: "elapsed \(ProgressLine.clock(elapsed))", priority: 40))
        fields.append(Field(text: "ETA \(eta.map(ProgressLine.clock) ?? "?")", priority: 90))
        let minBar = 8, maxBar = 30
        // Fields are two spaces apart, except the step count, one space after its bar.
        func separator(_ i: Int) -> String { fields[i].priority == 60 && fields[i - 1].text == nil ? " " : "  " }
        func fixedWidth() -> Int {
            fields.indices.reduce(0) { w, i in
                w + (fields[i].text?.count ?? minBar) + (i > 0 ? separator(i).count : 0)
            }
        }
        while fields.count > 1 && fixedWidth() > room {
            if let i = fields.indices.filter({ fields[$0].short != nil }).min(by: { fields[$0].priority < fields[$1].priority }) {
                fields[i].text = fields[i].short
                fields[i].short = nil
                continue
            }
            guard let drop = fields.indices.filter({ fields[$0].priority < 100 }).min(by: { fields[$0].priority < fields[$1].priority }) else { break }
            fields.remove(at: drop)
        }
        let barWidth = min(maxBar, minBar + max(0, room - fixedWidth()))
        let filled = Int((Double(barWidth) * fraction).rounded(.down))
        let bar = String(repeating: unicode ? "█" : "#", count: filled) + String(repeating: unicode ? "·" : "-", count: barWidth - filled)
        let line = fields.indices.map { ($0 > 0 ? separator($0) : "") + (fields[$0].text ?? bar) }.joined()
        return line.count > room ? String(line.prefix(room)) : line
    }

    /// True when a locale name (the first set of LC_ALL, LC_CTYPE, LANG) has the UTF-8
    /// character set; nil is the "C" locale, ASCII.
    public static func isUTF8(locale: String?) -> Bool {
        guard let l = locale?.lowercased() else { return false }
        return l.contains("utf-8") || l.contains("utf8")
    }

    /// `m:ss`, or `h:mm:ss` from an hour on; `?` for what is not a time.
    public static func clock(_ s: Double) -> String {
        guard s.isFinite, s >= 0, s < 1e9 else { return "?" }
        let t = Int(s.rounded())
        func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return t >= 3600 ? "\(t / 3600):\(pad(t / 60 % 60)):\(pad(t % 60))" : "\(t / 60):\(pad(t % 60))"
    }
}

/// `line` broken into lines shorter than `width` between its fields (separated by two
/// spaces, else by one), continuation lines indented by two spaces, so that a terminal never
/// wraps in the middle of `val_loss 0.4123`. A field wider than the line is cut.
public func wrapFields(_ line: String, width: Int) -> String {
    let room = max(10, width - 1)
    guard line.count > room else { return line }
    let separator = line.contains("  ") ? "  " : " "
    var lines: [String] = []
    var current = ""
    for field in line.split(separator: separator, omittingEmptySubsequences: true).map(String.init) {
        if current.isEmpty {
            current = field
        } else if current.count + separator.count + field.count <= room {
            current += separator + field
        } else {
            lines.append(current)
            current = "  " + field
        }
        while current.count > room {
            lines.append(String(current.prefix(room)))
            current = "  " + current.dropFirst(room)
        }
    }
    lines.append(current)
    return lines.joined(separator: "\n")
}
