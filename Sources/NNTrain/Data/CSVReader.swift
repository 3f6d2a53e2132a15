import NNCore

/// Numeric CSV: one example per row, one column holding the label (class index) or the
/// regression target, the rest features. A first row whose fields are mostly not numbers is a
/// header (unless `header` says otherwise). Blank lines are skipped; quotes around fields are removed.
enum CSVReader {
    /// `labelColumn` nil: every column is a feature, the targets zeros (`hasLabels` false).
    static func load(path: String, labelColumn: Int?, header: Bool?, delimiter: UInt8, task: Task, maxClasses: Int) throws(DataError) -> Dataset {
        var bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: DataLimits.maxBytes) } catch { throw DataError(file: path, error.reason) }
        // A UTF-8 byte order mark (Excel writes one) is not part of the first field.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw DataError(file: path, "is not UTF-8 text (is it a CSV file?)")
        }
        var rows: [[Substring]] = []
        var lineNumbers: [Int] = []
        let text = String(decoding: bytes, as: UTF8.self)
        let delim = Character(UnicodeScalar(delimiter))
        // Lines end in \n, \r\n (one Character in Swift, so splitting on "\n" alone misses it) or \r.
        for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).enumerated() {
            let l = line
            if l.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            rows.append(l.split(separator: delim, omittingEmptySubsequences: false).map { f in
                var s = f.drop(while: { $0 == " " })
                while s.last == " " { s = s.dropLast() }
                if s.count >= 2 && s.first == "\"" && s.last == "\"" { s = s.dropFirst().dropLast() }
                return s
            })
            lineNumbers.append(n + 1)
        }
        guard !rows.isEmpty else { throw DataError(file: path, "contains no rows") }
        // Auto-detect: a first row of mostly non-numbers is a header; one with a few bad
        // fields is a data row with errors (reported below), not a header.
        let nonNumeric = rows[0].filter { !isDecimal($0) || Float($0) == nil }.count
        let hasHeader = header ?? (nonNumeric * 2 > rows[0].count)
        if hasHeader { rows.removeFirst(); lineNumbers.removeFirst() }
        guard let width = rows.first?.count else { throw DataError(file: path, "contains a header but no data rows") }
        guard width >= (labelColumn == nil ? 1 : 2) else {
            throw DataError(file: path, "line \(lineNumbers[0]): expected a label column and at least one feature, found \(width) column")
        }
        // No label column: an index no column has.
        let label = labelColumn.map { $0 < 0 ? width - 1 : $0 } ?? width
        guard labelColumn == nil || label < width else {
            throw DataError(file: path, "label_column \(labelColumn ?? 0) does not exist: rows have \(width) columns (0...\(width - 1))")
        }
        let features = labelColumn == nil ? width : width - 1
        var values = [Float](repeating: 0, count: rows.count * features)
        var targets = [Float](repeating: 0, count: rows.count)
        var maxLabel = 0
        for (i, row) in rows.enumerated() {
            guard row.count == width else {
                throw DataError(file: path, "line \(lineNumbers[i]): expected \(width) columns like the first row, found \(row.count)")
            }
            var k = 0
            for (c, field) in row.enumerated() {
                guard isDecimal(field), let v = Float(field), v.isFinite else {
                    throw DataError(file: path, "line \(lineNumbers[i]), column \(c + 1): expected a number, got \(JSONValue.quote(String(field.prefix(30))))")
                }
                if c == label {
                    if task == .classification {
                        guard v >= 0, v == v.rounded(), v < Float(maxClasses) else {
                            throw DataError(file: path, "line \(lineNumbers[i]): label \(field) is not a class index (a whole number in 0..<\(maxClasses))")
                        }
                        maxLabel = max(maxLabel, Int(v))
                    }
                    targets[i] = v
                } else {
                    values[i * features + k] = v
                    k += 1
                }
            }
        }
        return Dataset(storage: .floats(values), storedScale: 1, count: rows.count, sampleShape: [features], targets: targets,
                       classCount: task == .classification && labelColumn != nil ? maxLabel + 1 : nil, origin: path,
                       hasLabels: labelColumn != nil)
    }
}

/// A plain decimal number: digits, sign, point and exponent only (no hex, inf or nan).
func isDecimal(_ s: Substring) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E || $0 == 0x45 || $0 == 0x65 }
}
