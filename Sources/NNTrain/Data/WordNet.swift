import NNCore

/// Reads the synsets of a WordNet database directory (`data.noun`, `data.verb`, `data.adj`,
/// `data.adv` in the wndb(5) format of WordNet 3.0, as Debian's `wordnet-base` installs them at
/// /usr/share/wordnet) for the synonym text augmentations.
///
/// A data file is the license header (lines that start with two spaces), then one synset per
/// line: `synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id …] p_cnt … | gloss`,
/// where synset_offset (8 decimal digits) is the byte offset of the line in the file, w_cnt is
/// 2 hex digits and lex_id 1 hex digit; a multi-word lemma joins its words with "_", and an
/// adjective may carry a marker such as "(a)", "(p)" or "(ip)". The files are untrusted input:
/// each is at most `maxFileBytes`, a line at most `maxLineBytes`; a synset line whose offset is
/// not its byte position, a line that is not a synset after the first synset, or a last line
/// without its line break (a truncated file) is a data error naming the file and line.
public enum WordNet {
    public static let files = ["data.noun", "data.verb", "data.adj", "data.adv"]
    public static let maxFileBytes = 64 << 20
    /// WordNet 3.0's longest line is 12,972 bytes (data.noun).
    public static let maxLineBytes = 1 << 16

    /// The synsets of the four data files in `directory`, in file order (noun, verb, adj, adv)
    /// and line order: each the single-word lemmas (multi-word ones left out, markers removed)
    /// of a synset with at least two of them.
    public static func synsets(directory: String) throws(DataError) -> [[String]] {
        guard FileIO.isDirectory(directory) else {
            throw DataError(file: directory, "WordNet not found (the synonym augmentations read data.noun, data.verb, data.adj, data.adv there): "
                + "install WordNet 3.0 with `sudo apt-get install wordnet-base` (or `make data`), or set the augmentation's \"wordnet\" to its directory")
        }
        var all: [[String]] = []
        var lines = 0
        for name in files {
            let path = directory + "/" + name
            guard FileIO.exists(path) else {
                throw DataError(file: path, "missing: a WordNet database directory holds \(files.joined(separator: ", ")) (`sudo apt-get install wordnet-base`)")
            }
            let bytes: [UInt8]
            do { bytes = try FileIO.read(path, limit: maxFileBytes) } catch { throw DataError(file: path, error.reason) }
            let parsed = try parse(bytes, path: path)
            all += parsed.synsets
            lines += parsed.synsetLines
        }
        guard lines > 0 else { throw DataError(file: directory, "the WordNet data files hold no synsets") }
        return all
    }

    /// One data file's synsets with two or more single-word lemmas, and its count of synset lines.
    public static func parse(_ bytes: [UInt8], path: String) throws(DataError) -> (synsets: [[String]], synsetLines: Int) {
        var out: [[String]] = []
        var synsetLines = 0, line = 0, start = 0
        let n = bytes.count
        while start < n {
            line += 1
            var end = start
            while end < n && bytes[end] != 0x0A && end - start <= maxLineBytes { end += 1 }
            if end - start > maxLineBytes {
                throw DataError(file: path, "line \(line) is longer than \(maxLineBytes) bytes: not a WordNet data file (wndb)")
            }
            if end == n {
                throw DataError(file: path, "line \(line) has no line break: the file is truncated")
            }
            let fields = bytes[start..<end].split(separator: 0x20, omittingEmptySubsequences: false)
            if bytes[start..<end].starts(with: [0x20, 0x20]) {
                guard synsetLines == 0 else {
                    throw DataError(file: path, "line \(line): a license line after the synsets: not a WordNet data file (wndb)")
                }
            } else {
                guard let lemmas = synsetLemmas(fields, offset: start) else {
                    throw DataError(file: path, "line \(line): expected a synset (\"offset lex_filenum ss_type w_cnt word lex_id …\" "
                        + "with offset \(start), the line's byte position), got \(JSONValue.quote(String(decoding: bytes[start..<min(end, start + 40)], as: UTF8.self)))")
                }
                synsetLines += 1
                if lemmas.count >= 2 { out.append(lemmas) }
            }
            start = end + 1
        }
        return (out, synsetLines)
    }

    /// The single-word lemmas of a synset line split at spaces, or nil if it is not one.
    static func synsetLemmas(_ fields: [ArraySlice<UInt8>], offset: Int) -> [String]? {
        guard fields.count >= 4, fields[0].count == 8, let o = decimal(fields[0]), o == offset,
              fields[1].count == 2, decimal(fields[1]) != nil,
              fields[2].count == 1, let t = fields[2].first, "nvasr".utf8.contains(t),
              fields[3].count == 2, let w = hex(fields[3]), w >= 1, fields.count >= 4 + 2 * w else { return nil }
        var lemmas: [String] = []
        for k in 0..<w {
            var word = fields[4 + 2 * k]
            let lexID = fields[5 + 2 * k]
            guard !word.isEmpty, lexID.count == 1, hex(lexID) != nil else { return nil }
            // An adjective's syntactic marker: "galore(ip)".
            if word.last == UInt8(ascii: ")"), let open = word.firstIndex(of: UInt8(ascii: "(")) { word = word[word.startIndex..<open] }
            if word.isEmpty || word.contains(UInt8(ascii: "_")) { continue }
            let lemma = String(decoding: word, as: UTF8.self)
            if !lemmas.contains(lemma) { lemmas.append(lemma) }
        }
        return lemmas
    }

    /// A decimal or hexadecimal field of at most 15 digits (longer ones could overflow; the
    /// callers check each field's width first).
    private static func decimal(_ s: ArraySlice<UInt8>) -> Int? {
        guard s.count <= 15 else { return nil }
        var v = 0
        for b in s { guard b >= 0x30 && b <= 0x39 else { return nil }; v = v * 10 + Int(b - 0x30) }
        return v
    }

    private static func hex(_ s: ArraySlice<UInt8>) -> Int? {
        guard s.count <= 15 else { return nil }
        var v = 0
        for b in s {
            let d: Int
            switch b {
            case 0x30...0x39: d = Int(b - 0x30)
            case 0x61...0x66: d = Int(b - 0x61 + 10)
            case 0x41...0x46: d = Int(b - 0x41 + 10)
            default: return nil
            }
            v = v * 16 + d
        }
        return v
    }
}

/// The synonyms of each vocabulary entry: the other lemmas of its WordNet synsets that are in
/// the vocabulary too (ids ≥ 2, so never `<pad>` or `<unk>`), in increasing id order.
public struct SynonymTable: Sendable, Equatable {
    /// By token id; empty for a token without synonyms.
    public let synonyms: [[Int32]]

    public init(synonyms: [[Int32]]) { self.synonyms = synonyms }

    /// `lowercase`: match lower-cased lemmas (a vocabulary of lower-cased text).
    public init(synsets: [[String]], vocabulary: Vocabulary, lowercase: Bool) {
        var sets = [Set<Int32>](repeating: [], count: vocabulary.tokens.count)
        for synset in synsets {
            var ids: [Int32] = []
            for lemma in synset {
                if let id = vocabulary.ids[lowercase ? lemma.lowercased() : lemma], id >= 2, !ids.contains(Int32(id)) { ids.append(Int32(id)) }
            }
            guard ids.count >= 2 else { continue }
            for a in ids { for b in ids where b != a { sets[Int(a)].insert(b) } }
        }
        synonyms = sets.map { $0.sorted() }
    }

    public func of(_ id: Int32) -> [Int32] { id >= 0 && Int(id) < synonyms.count ? synonyms[Int(id)] : [] }

    /// Tokens that have at least one synonym.
    public var coveredCount: Int { synonyms.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) } }
}
