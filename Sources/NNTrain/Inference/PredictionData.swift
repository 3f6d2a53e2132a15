import NNCore

extension Prediction {
    /// The examples `nntrain predict --data TEXT` names, labels optional, loaded for `model`.
    ///
    /// TEXT is a JSON data source (as in a config; an IDX source may leave out `labels`, a CSV
    /// source may set `label_column` to null), or a file whose format its name tells:
    /// - `….csv` of a run on text: its training file's label and text columns, or a file of one
    ///   column (texts alone, no labels);
    /// - `….csv`: rows of numbers, a header row detected; with as many columns as the model has
    ///   input features the rows have no label; with one more, the label is in the column the
    ///   run's training CSV used (`label_column`, else column 0);
    /// - a name with `idx3-ubyte` (`.gz` or not): IDX images, no labels;
    /// - `….bin`: a CIFAR-10 binary batch (with its labels).
    /// Nil TEXT: the first run's test split. Anything else: `.config` saying what to give.
    public static func dataset(_ text: String?, for model: TrainedModel) throws(RunError) -> Dataset {
        func load(_ s: DataSource) throws(RunError) -> Dataset { try model.dataset(s) }
        guard let text else {
            guard let test = model.config.data.test else {
                throw .config(["\(model.directory)/config.json has no data.test: give the examples with --data FILE or --data '{\"format\": …}'"])
            }
            return try load(test)
        }
        if text.hasPrefix("{") {
            let source: DataSource
            do { source = try DataSource.parse(text, baseDirectory: ".", labelsRequired: false) } catch {
                throw .config(error.errors.map { "--data: \($0)" })
            }
            return try load(source)
        }
        let name = text.split(separator: "/").last.map { $0.lowercased() } ?? ""
        if name.hasSuffix(".csv"), case .text(_, let label, let textColumn, _, let delimiter)? = model.config.data.train.map(\.unfiltered) {
            // A text run: the columns of its training file; only the text column: no labels.
            let plain = try load(.text(path: text, labelColumn: nil, textColumn: 0, header: nil, delimiter: delimiter))
            let rows = try? TextReader.records(Array(try FileIO.read(text, limit: DataLimits.maxBytes).prefix(1 << 20)), delimiter: delimiter, path: text)
            guard let columns = rows?.first?.fields.count, columns > 1 else { return plain }
            return try load(.text(path: text, labelColumn: label, textColumn: textColumn, header: nil, delimiter: delimiter))
        }
        if name.hasSuffix(".csv") {
            let plain = try load(.csv(path: text, labelColumn: nil, header: nil, delimiter: 44))
            guard plain.featureCount == model.preprocessor.scale.count + 1 else { return plain }
            var column = 0
            if case .csv(_, let c?, _, _)? = model.config.data.train { column = c }
            return try load(.csv(path: text, labelColumn: column, header: nil, delimiter: 44))
        }
        if name.contains("idx3-ubyte") { return try load(.idx(images: text, labels: nil)) }
        if name.hasSuffix(".bin") { return try load(.cifar10(files: [text])) }
        throw .config(["--data \(text): cannot tell the format from the name (.csv, …idx3-ubyte[.gz], .bin); give a JSON source such as '{\"format\": \"idx\", \"images\": \"\(text)\"}'"])
    }
}
