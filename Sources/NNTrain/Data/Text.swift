import NNCore

/// CSV rows of a label and a text (RFC 4180: a field in double quotes may hold the delimiter,
/// line breaks and doubled quotes), read into a `Dataset` that holds the texts and no features
/// yet: `encoded(with:config:)` turns it into numbers once a vocabulary is fitted.
enum TextReader {
    /// `labelColumn` nil: no labels (targets 0, `hasLabels` false).
    static func load(path: String, labelColumn: Int?, textColumn: Int, header: Bool?, delimiter: UInt8,
                     task: Task, maxClasses: Int) throws(DataError) -> Dataset {
        var bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: DataLimits.maxBytes) } catch { throw DataError(file: path, error.reason) }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw DataError(file: path, "is not UTF-8 text") }
        var rows = try records(bytes, delimiter: delimiter, path: path)
        guard !rows.isEmpty else { throw DataError(file: path, "contains no rows") }
        let width = max(labelColumn ?? 0, textColumn) + 1
        // Auto: a first row whose label is not a number (or, without labels, whose text is "text").
        let hasHeader = header ?? (rows[0].fields.count >= width
            && (labelColumn.map { Double(rows[0].fields[$0].trimmed) == nil } ?? (rows[0].fields[textColumn].trimmed.lowercased() == "text")))
        if hasHeader { rows.removeFirst() }
        guard !rows.isEmpty else { throw DataError(file: path, "contains a header but no data rows") }
        var texts: [String] = [], targets: [Float] = []
        texts.reserveCapacity(rows.count); targets.reserveCapacity(rows.count)
        var maxLabel = 0
        for row in rows {
            guard row.fields.count >= width else {
                throw DataError(file: path, "line \(row.line): expected at least \(width) columns (label_column \(labelColumn.map(String.init) ?? "none"), text_column \(textColumn)), found \(row.fields.count)")
            }
            texts.append(row.fields[textColumn])
            guard let labelColumn else { targets.append(0); continue }
            let field = row.fields[labelColumn].trimmed
            guard let v = Float(field), v.isFinite, isDecimal(Substring(field)) else {
                throw DataError(file: path, "line \(row.line): expected a number as the label, got \(JSONValue.quote(String(field.prefix(30))))")
            }
            if task == .classification {
                guard v >= 0, v == v.rounded(), v < Float(maxClasses) else {
                    throw DataError(file: path, "line \(row.line): label \(field) is not a class index (a whole number in 0..<\(maxClasses))")
                }
                maxLabel = max(maxLabel, Int(v))
            }
            targets.append(v)
        }
        return Dataset(storage: .floats([]), storedScale: 1, count: texts.count, sampleShape: [0], targets: targets,
                       classCount: task == .classification && labelColumn != nil ? maxLabel + 1 : nil, origin: path,
                       hasLabels: labelColumn != nil, texts: texts)
    }

    /// The records of `bytes` with the line each starts on; blank lines skipped.
    static func records(_ bytes: [UInt8], delimiter: UInt8, path: String) throws(DataError) -> [(fields: [String], line: Int)] {
        var out: [(fields: [String], line: Int)] = []
        var fields: [String] = [], field: [UInt8] = []
        var quoted = false, wasQuoted = false, line = 1, start = 1, i = 0
        func endField() { fields.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true); wasQuoted = false }
        func endRecord() {
            // A blank line is no record; `""` alone on a line is one empty text.
            let quotedField = wasQuoted
            endField()
            if !(fields.count == 1 && !quotedField && fields[0].trimmed.isEmpty) { out.append((fields, start)) }
            fields = []
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 { field.append(0x22); i += 1 } else { quoted = false }
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
            } else if b == 0x22 && field.allSatisfy({ $0 == 0x20 }) && !wasQuoted {
                field.removeAll(); quoted = true; wasQuoted = true
            } else if b == delimiter {
                endField()
            } else if b == 0x0A || b == 0x0D {
                if b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
                endRecord()
                line += 1; start = line
            } else {
                field.append(b)
            }
            i += 1
        }
        if quoted { throw DataError(file: path, "line \(start): a quoted field is not closed before the end of the file") }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRecord() }
        return out
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmed: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// Splits a text into tokens (see `TextConfig.tokenize`).
public enum Tokenizer {
    public static func tokens(_ text: String, _ config: TextConfig) -> [String] {
        let t = config.lowercase ? text.lowercased() : text
        if config.tokenize == .chars { return t.map { String($0) } }
        var out: [String] = [], word = ""
        for c in t {
            if c.isLetter || c.isNumber {
                word.append(c)
            } else {
                if !word.isEmpty { out.append(word); word = "" }
                if !c.isWhitespace { out.append(String(c)) }
            }
        }
        if !word.isEmpty { out.append(word) }
        return out
    }
}

/// Token ids: `<pad>` 0, `<unk>` 1, then the tokens of the training split by count, most
/// frequent first (ties by text), seen at least `min_count` times, `max_size` entries in all.
public struct Vocabulary: Sendable, Equatable {
    public static let pad = "<pad>", unknown = "<unk>"
    public let tokens: [String]
    let ids: [String: Int]

    public init(tokens: [String]) {
        self.tokens = tokens
        ids = Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Fitted on `texts` (the training split's).
    public static func fit(_ texts: [String], _ config: TextConfig) -> Vocabulary {
        var counts: [String: Int] = [:]
        for t in texts { for token in Tokenizer.tokens(t, config) { counts[token, default: 0] += 1 } }
        counts[pad] = nil; counts[unknown] = nil
        let kept = counts.filter { $0.value >= config.minCount }.sorted { a, b in a.value != b.value ? a.value > b.value : a.key < b.key }
        return Vocabulary(tokens: [pad, unknown] + kept.prefix(config.maxSize - 2).map(\.key))
    }

    public func id(_ token: String) -> Int { ids[token] ?? 1 }

    /// `vocabulary.json` of a run: `{"tokens": [...]}` (id = position).
    public var json: JSONValue { .object([("tokens", .array(tokens.map { .string($0) }))]) }

    /// Reads a run's `vocabulary.json` (at most 256 MiB): a list of distinct strings that
    /// starts with `<pad>` and `<unk>`.
    public static func read(_ path: String) throws(DataError) -> Vocabulary {
        let value: JSONValue
        do { value = try JSONValue.parse(try FileIO.read(path, limit: 256 << 20)) } catch { throw DataError(file: path, "\(error)") }
        guard case .array(let items)? = value["tokens"] else { throw DataError(file: path, "expected {\"tokens\": [...]}") }
        let tokens = items.compactMap(\.stringValue)
        guard tokens.count == items.count, tokens.count >= 2, tokens[0] == pad, tokens[1] == unknown,
              Set(tokens).count == tokens.count else {
            throw DataError(file: path, "expected distinct token strings starting with \"<pad>\", \"<unk>\"")
        }
        return Vocabulary(tokens: tokens)
    }
}

extension Dataset {
    /// The examples of a text dataset as numbers (see `TextConfig`); labels and order kept.
    /// `keepTokenIDs`: keep every example's token ids too (`tokenIDs`, for the text augmentations).
    public func encoded(with vocabulary: Vocabulary, config: TextConfig, keepTokenIDs: Bool = false) -> Dataset {
        let width = config.featureCount
        var values = [Float](repeating: 0, count: count * width)
        var kept: [[Int32]] = []
        values.withUnsafeMutableBufferPointer { v in
            for (i, text) in (texts ?? []).enumerated() {
                let ids = Tokenizer.tokens(text, config).map { Int32(vocabulary.id($0)) }
                Vocabulary.encode(ids, config: config, into: v.baseAddress! + i * width)
                if keepTokenIDs { kept.append(ids) }
            }
        }
        return Dataset(storage: .floats(values), storedScale: 1, count: count, sampleShape: [width], targets: targets,
                       targetWidth: targetWidth, classCount: classCount, origin: origin, hasLabels: hasLabels,
                       tokenIDs: keepTokenIDs ? kept : nil)
    }
}

extension Vocabulary {
    /// Writes the features of one example's token ids into `row` (`config.featureCount`
    /// values, zeroed first): a sequence keeps the first `max_length` ids, padded with 0; a bag
    /// of words counts each id in 1..<max_size (1 with `binary`), `<pad>` never.
    public static func encode(_ ids: [Int32], config: TextConfig, into row: UnsafeMutablePointer<Float>) {
        let width = config.featureCount
        row.update(repeating: 0, count: width)
        if config.representation == .sequence {
            for (j, id) in ids.prefix(width).enumerated() { row[j] = Float(id) }
        } else {
            for id in ids where id > 0 && Int(id) < width { row[Int(id)] = config.binary ? 1 : row[Int(id)] + 1 }
        }
    }
}
