#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NNCore
import NNTrain

/// Writes to stderr (progress, errors) without buffering.
func printError(_ s: String) {
    var line = s
    if !line.hasSuffix("\n") && !line.hasSuffix("\r") { line += "\n" }
    writeAll(2, line)
}

/// Writes a line to stdout, unbuffered (results a script reads).
func printOut(_ s: String) { writeAll(1, s + "\n") }

/// Writes raw text to stderr (progress bar redraws).
func writeStderr(_ s: String) { writeAll(2, s) }

private func writeAll(_ fd: Int32, _ s: String) {
    var text = s
    text.withUTF8 { buf in
        var done = 0
        while done < buf.count {
            let n = write(fd, buf.baseAddress! + done, buf.count - done)
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
            done += n
        }
    }
}

/// `s` padded with spaces to `width` characters.
func padded(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

/// Turns training events into a progress bar with ETA (TTY) or one line per epoch (otherwise).
final class ProgressPrinter {
    let tty: Bool
    let quiet: Bool
    private var lastDraw = 0.0
    private var epochStart = 0.0
    private var barVisible = false

    init(quiet: Bool) {
        self.quiet = quiet
        tty = Runtime.isStandardErrorTerminal && Runtime.environment("TERM") != "dumb"
    }

    func handle(_ event: TrainingEvent) {
        guard !quiet else { return }
        switch event {
        case let .dataLoaded(train, validation, test, classes, seconds):
            var s = "data: \(train) train, \(validation) validation, \(test) test examples"
            if let classes { s += ", \(classes) classes" }
            printError(s + " (read in \(fmt(seconds, 2)) s)")
        case let .started(epochs, steps, parameters, threads):
            printError("training: \(epochs) epochs × \(steps) steps, \(parameters) parameters, \(threads) BLAS threads")
            epochStart = Clock.now()
        case let .step(epoch, step, steps, loss):
            guard tty else { return }
            if step == 1 { epochStart = Clock.now() }
            let now = Clock.now()
            guard now - lastDraw > 0.1 || step == steps else { return }
            lastDraw = now
            let width = 24
            let filled = Int(Double(width) * Double(step) / Double(steps))
            let elapsed = now - epochStart
            let eta = elapsed / Double(step) * Double(steps - step)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            writeStderr("\r\u{1B}[2Kepoch \(epoch) \(bar) \(step)/\(steps) loss \(fmt(loss, 4)) ETA \(clock(eta))")
            barVisible = true
        case let .epochEnded(row, epochs):
            if barVisible { writeStderr("\r\u{1B}[2K"); barVisible = false }
            var s = "epoch \(row.epoch)/\(epochs)  loss \(fmt(row.loss, 4))"
            if let a = row.accuracy { s += "  accuracy \(fmt(a, 4))" }
            if let v = row.valLoss { s += "  val_loss \(fmt(v, 4))" }
            if let v = row.valAccuracy { s += "  val_accuracy \(fmt(v, 4))" }
            s += "  lr \(row.lr)  \(fmt(row.seconds, 1)) s"
            printError(s)
        case let .earlyStopped(epoch, best):
            printError("early stopping after epoch \(epoch); best epoch \(best)")
        case .message(let m):
            printError(m)
        }
    }

    private func clock(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600):\(pad(t / 60 % 60)):\(pad(t % 60))" : "\(t / 60):\(pad(t % 60))"
    }

    private func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// `x` with `digits` decimals.
func fmt(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (abs(x) * p).rounded()
    var whole = String(Int(r / p))
    var frac = String(Int(r.truncatingRemainder(dividingBy: p)))
    while frac.count < digits { frac = "0" + frac }
    if x < 0 && r != 0 { whole = "-" + whole }
    return digits > 0 ? whole + "." + frac : whole
}
