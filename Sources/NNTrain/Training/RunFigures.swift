import NNCore

/// The figures of a run that `Diagnosis` reads: the rows of `curves.csv`, `steps.csv` and
/// (with diagnostics on) `layers.csv`, the number of classes and whether the run diverged.
public struct RunFigures: Sendable {
    /// One epoch (`curves.csv`).
    public struct Epoch: Sendable, Equatable {
        public var epoch: Int
        public var loss: Double
        public var accuracy: Double?
        public var valLoss: Double?
        public var valAccuracy: Double?
        public var lr: Double?
        public init(epoch: Int, loss: Double, accuracy: Double? = nil, valLoss: Double? = nil, valAccuracy: Double? = nil, lr: Double? = nil) {
            self.epoch = epoch; self.loss = loss; self.accuracy = accuracy
            self.valLoss = valLoss; self.valAccuracy = valAccuracy; self.lr = lr
        }
    }

    /// One logged step (`steps.csv`): the mean loss of the batches since the row before.
    public struct Step: Sendable, Equatable {
        public var step: Int
        public var loss: Double
        public var gradNorm: Double?
        public init(step: Int, loss: Double, gradNorm: Double? = nil) { self.step = step; self.loss = loss; self.gradNorm = gradNorm }
    }

    /// One layer in one epoch (`layers.csv`, see `LayerDiagnostics`).
    public struct Layer: Sendable, Equatable {
        public var epoch: Int
        public var layer: String
        public var type: String
        public var actMean: Double
        public var actStd: Double
        public var deadFraction: Double?
        public var saturatedFraction: Double?
        public init(epoch: Int, layer: String, type: String, actMean: Double, actStd: Double,
                    deadFraction: Double? = nil, saturatedFraction: Double? = nil) {
            self.epoch = epoch; self.layer = layer; self.type = type; self.actMean = actMean; self.actStd = actStd
            self.deadFraction = deadFraction; self.saturatedFraction = saturatedFraction
        }
    }

    public var epochs: [Epoch]
    public var steps: [Step]
    public var layers: [Layer]
    /// Output classes of a classification model (nil: regression, or unknown).
    public var classes: Int?
    public var diverged: Bool

    public init(epochs: [Epoch] = [], steps: [Step] = [], layers: [Layer] = [], classes: Int? = nil, diverged: Bool = false) {
        self.epochs = epochs; self.steps = steps; self.layers = layers; self.classes = classes; self.diverged = diverged
    }

    /// The largest CSV file read back (curves.csv, layers.csv): 256 MiB.
    static let csvLimit = 1 << 28
    /// The largest steps.csv read back: 1 GiB (a row every step of a long run).
    static let stepsLimit = 1 << 30

    /// Reads the CSV files of `directory`. curves.csv must exist; steps.csv and layers.csv may
    /// be missing. These files are anyone's to edit: a cell that is not a number, a row with
    /// the wrong number of cells or a header without the needed columns throws a `DataError`
    /// naming the file. A last line without its newline (a run still writing) is left out.
    public static func read(directory: String, classes: Int?, diverged: Bool) throws(DataError) -> RunFigures {
        var figures = RunFigures(classes: classes, diverged: diverged)
        let curves = try table(directory + "/curves.csv", limit: csvLimit, required: ["epoch", "loss"])
        for row in curves.rows {
            figures.epochs.append(Epoch(epoch: try curves.count(row, "epoch"), loss: try curves.number(row, "loss"),
                                        accuracy: try curves.optional(row, "accuracy"), valLoss: try curves.optional(row, "val_loss"),
                                        valAccuracy: try curves.optional(row, "val_accuracy"), lr: try curves.optional(row, "lr")))
        }
        if FileIO.exists(directory + "/steps.csv") {
            let steps = try table(directory + "/steps.csv", limit: stepsLimit, required: ["step", "loss"])
            for row in steps.rows {
                figures.steps.append(Step(step: try steps.count(row, "step"), loss: try steps.number(row, "loss"),
                                          gradNorm: try steps.optional(row, "grad_norm")))
            }
        }
        if FileIO.exists(directory + "/layers.csv") {
            let layers = try table(directory + "/layers.csv", limit: csvLimit, required: ["epoch", "layer", "type", "act_mean", "act_std"])
            for row in layers.rows {
                figures.layers.append(Layer(epoch: try layers.count(row, "epoch"), layer: layers.text(row, "layer"),
                                            type: layers.text(row, "type"), actMean: try layers.number(row, "act_mean"),
                                            actStd: try layers.number(row, "act_std"), deadFraction: try layers.optional(row, "dead_fraction"),
                                            saturatedFraction: try layers.optional(row, "saturated_fraction")))
            }
        }
        return figures
    }

    /// A CSV file's header and complete rows.
    struct Table {
        var file: String
        var columns: [String: Int]
        var rows: [(line: Int, cells: [Substring])]

        func text(_ row: (line: Int, cells: [Substring]), _ column: String) -> String {
            columns[column].map { String(row.cells[$0]) } ?? ""
        }

        /// A number, nan or ±inf; nil for an empty cell or a missing column.
        func optional(_ row: (line: Int, cells: [Substring]), _ column: String) throws(DataError) -> Double? {
            guard let i = columns[column] else { return nil }
            let c = row.cells[i]
            switch c {
            case "": return nil
            case "nan": return .nan
            case "inf": return .infinity
            case "-inf": return -.infinity
            default:
                guard let d = Double(c) else {
                    throw DataError(file: file, "line \(row.line): \(column) is \"\(c.prefix(40))\", not a number")
                }
                return d
            }
        }

        func number(_ row: (line: Int, cells: [Substring]), _ column: String) throws(DataError) -> Double {
            guard let d = try optional(row, column) else { throw DataError(file: file, "line \(row.line): \(column) is empty") }
            return d
        }

        /// A whole number from 0 to 2⁵³.
        func count(_ row: (line: Int, cells: [Substring]), _ column: String) throws(DataError) -> Int {
            let d = try number(row, column)
            guard let n = Int(checking: d, in: 0...maxExactInteger) else {
                throw DataError(file: file, "line \(row.line): \(column) is \(d), not a count")
            }
            return n
        }
    }

    static func table(_ path: String, limit: Int, required: [String]) throws(DataError) -> Table {
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: limit) } catch { throw DataError(file: path, "cannot read: \(error)") }
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // The part after the last newline: empty, or a row still being written.
        lines.removeLast()
        guard let head = lines.first else { throw DataError(file: path, "no header line") }
        let names = head.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var columns: [String: Int] = [:]
        for (i, n) in names.enumerated() where columns[n] == nil { columns[n] = i }
        let missing = required.filter { columns[$0] == nil }
        guard missing.isEmpty else {
            throw DataError(file: path, "the header has no \(missing.joined(separator: ", ")) column; not a file nntrain wrote")
        }
        var rows: [(line: Int, cells: [Substring])] = []
        for (i, line) in lines.enumerated().dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == names.count else {
                throw DataError(file: path, "line \(i + 1) has \(cells.count) cells, the header \(names.count)")
            }
            rows.append((i + 1, cells))
        }
        return Table(file: path, columns: columns, rows: rows)
    }
}

extension RunFigures {
    /// The figures of the run in `directory` for `nntrain diagnose`: its CSV files, the classes
    /// of its `config.json`'s model and whether its `summary.json` (optional: a run still
    /// going or killed has none) says it diverged. Not a run directory: `.config` (exit 2);
    /// a file that does not read: `.data` naming it (exit 3).
    public static func read(runDirectory directory: String) throws(RunError) -> RunFigures {
        guard FileIO.isDirectory(directory) else { throw .config(["\(directory) is not a directory; expected a run directory (runs/<name>/)"]) }
        guard FileIO.exists(directory + "/curves.csv") else {
            throw .config(["\(directory) holds no curves.csv; expected a run directory written by `nntrain run`"])
        }
        var classes: Int? = nil
        let configPath = directory + "/config.json"
        if FileIO.exists(configPath) {
            do { classes = Diagnosis.classes(try ConfigLoader.load(path: configPath)) } catch {
                throw .data(DataError(file: configPath, error.lines.joined(separator: "; ")))
            }
        }
        var diverged = false
        let summaryPath = directory + "/summary.json"
        if FileIO.exists(summaryPath) {
            let summary: JSONValue
            do { summary = try JSONValue.parse(FileIO.read(summaryPath, limit: 16 << 20)) } catch {
                throw .data(DataError(file: summaryPath, "\(error)"))
            }
            guard case .object = summary else { throw .data(DataError(file: summaryPath, "expected a JSON object, got \(summary.brief)")) }
            diverged = summary["stop_reason"] == .string(StopReason.diverged.rawValue)
        }
        do { return try read(directory: directory, classes: classes, diverged: diverged) } catch { throw .data(error) }
    }
}
