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

/// Writes text to stdout as it is (a CSV a pipe reads).
func writeOut(_ s: String) { writeAll(1, s) }

/// Writes raw text to stderr (progress bar redraws).
func writeStderr(_ s: String) { writeAll(2, s) }

/// Why stdout could not be written (`> /dev/full`), if it could not; `main` then exits 1.
/// A reader that went away (EPIPE) is no failure: the results are in the run's files.
nonisolated(unsafe) var standardOutputFailure: String? = nil

private func writeAll(_ fd: Int32, _ s: String) {
    var text = s
    text.withUTF8 { buf in
        var done = 0
        while done < buf.count {
            let n = write(fd, buf.baseAddress! + done, buf.count - done)
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                if fd == 1 && standardOutputFailure == nil && !(n < 0 && errno == EPIPE) {
                    standardOutputFailure = n < 0 ? String(cString: strerror(errno)) : "the write made no progress"
                }
                return
            }
            done += n
        }
    }
}

/// `s` padded with spaces to `width` characters.
func padded(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

/// Turns training events into a progress bar with ETA (TTY) or one line per epoch (otherwise).
/// `--quiet` silences the progress, never a warning.
final class ProgressPrinter {
    let tty: Bool
    let quiet: Bool
    /// Block characters for the bar where the locale is UTF-8, ASCII otherwise.
    let unicode: Bool
    private var lastDraw = 0.0
    private var runStart: Double? = nil
    private var stepsAtStart = 0
    private var epochs = 1
    private var trainExamples: Int? = nil
    private var barVisible = false

    init(quiet: Bool) {
        self.quiet = quiet
        tty = Runtime.isStandardErrorTerminal && Runtime.environment("TERM") != "dumb"
        unicode = Terminal.isUTF8Locale
    }

    func handle(_ event: TrainingEvent) {
        if quiet {
            if case .message(let m) = event, m.hasPrefix("warning:") { endLine(); printError(m) }
            return
        }
        switch event {
        case let .dataLoaded(train, validation, test, classes, seconds):
            trainExamples = train
            var s = "data: \(train) train, \(validation) validation, \(test) test examples"
            if let classes { s += ", \(classes) classes" }
            printLine(s + " (read in \(fmt(seconds, 2)) s)")
        case let .started(epochs, steps, parameters, threads):
            self.epochs = epochs
            printLine("training: \(epochs) epochs \(unicode ? "×" : "x") \(steps) steps, \(parameters) parameters, \(threads) BLAS threads")
        case let .step(epoch, step, steps, loss):
            guard tty else { return }
            let now = Clock.now()
            let done = (epoch - 1) * steps + step
            if runStart == nil { runStart = now; stepsAtStart = done - 1 }
            guard now - lastDraw > 0.1 || step == steps else { return }
            lastDraw = now
            let line = ProgressLine.measured(epoch: epoch, epochs: epochs, step: step, steps: steps, loss: loss, elapsed: now - (runStart ?? now),
                                             stepsThisRun: done - stepsAtStart, trainExamples: trainExamples)
            writeStderr("\r\u{1B}[2K" + line.render(width: Terminal.columns(), unicode: unicode))
            barVisible = true
        case let .epochEnded(row, epochs):
            if barVisible { writeStderr("\r\u{1B}[2K"); barVisible = false }
            var s = "epoch \(row.epoch)/\(epochs)  loss \(fmt(row.loss, 4))"
            if let a = row.accuracy { s += "  accuracy \(fmt(a, 4))" }
            if let v = row.valLoss { s += "  val_loss \(fmt(v, 4))" }
            if let v = row.valAccuracy { s += "  val_accuracy \(fmt(v, 4))" }
            s += "  lr \(significant(Double(row.lr), 4))  \(fmt(row.seconds, 1)) s"
            printLine(s)
        case let .earlyStopped(epoch, best):
            printError("early stopping after epoch \(epoch); best epoch \(best)")
        case .message(let m):
            endLine()
            printError(m)
        }
    }

    /// A line on stderr; on a terminal, wrapped between its fields to the terminal's width.
    private func printLine(_ s: String) {
        printError(tty ? wrapFields(s, width: Terminal.columns()) : s)
    }

    /// Ends a visible bar's line, so that what is printed next (an error, "interrupted
    /// (Ctrl-C)") starts on a line of its own and the bar stays readable above it.
    func endLine() {
        if barVisible { writeStderr("\n"); barVisible = false }
    }
}

/// What the terminal on stderr can show.
enum Terminal {
    /// Columns: `COLUMNS` when set (as Python's shutil does), else the terminal's own width
    /// (TIOCGWINSZ on stderr), else 80.
    static func columns() -> Int {
        if let c = Runtime.environment("COLUMNS").flatMap(Int.init), c > 0, c < 10_000 { return c }
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// True when the locale's character set is UTF-8: the first of LC_ALL, LC_CTYPE and LANG
    /// that is set decides (as setlocale does); none set is the "C" locale, ASCII.
    static var isUTF8Locale: Bool {
        ProgressLine.isUTF8(locale: ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { Runtime.environment($0) }.first { !$0.isEmpty })
    }
}
