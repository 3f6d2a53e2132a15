import NNCore

/// Applies the text entries of `data.augment` (`TextAugmentation`) to training examples: each
/// example's token ids (all of them, before a sequence is cut to `max_length`) go through the
/// operations in the order listed, each drawing from the run's augmentation stream, and are
/// then encoded as `data.text` says (`Vocabulary.encode`) into the raw feature row that
/// preprocessing then maps. Validation, test, `eval` and `predict` never see it.
///
/// The operations are static functions on an id list so tests can drive them with a known
/// generator. p = 0 is the identity and draws nothing.
public struct TextAugmenter {
    public let operations: [TextAugmentation]
    /// The synonym table of each WordNet directory an operation names.
    public let tables: [String: SynonymTable]
    /// The vocabulary ids of ".", "!" and "?" (those present): where sentences end.
    public let sentenceEnds: Set<Int32>
    public let text: TextConfig
    /// The training dataset's token ids, by example index.
    public let tokenIDs: [[Int32]]

    public init(operations: [TextAugmentation], tables: [String: SynonymTable], sentenceEnds: Set<Int32>, text: TextConfig,
                tokenIDs: [[Int32]]) {
        self.operations = operations
        self.tables = tables
        self.sentenceEnds = sentenceEnds
        self.text = text
        self.tokenIDs = tokenIDs
    }

    /// The augmenter of the text operations of `augment` for `dataset` (encoded with
    /// `keepTokenIDs`), or nil without any. Reads each WordNet directory named once (a data
    /// error if missing or malformed).
    public static func make(_ augment: [Augmentation], text: TextConfig, vocabulary: Vocabulary, dataset: Dataset) throws(DataError) -> TextAugmenter? {
        let operations = augment.compactMap(\.textOperation)
        guard !operations.isEmpty, let ids = dataset.tokenIDs else { return nil }
        var tables: [String: SynonymTable] = [:]
        for dir in operations.compactMap(\.wordnet) where tables[dir] == nil {
            tables[dir] = SynonymTable(synsets: try WordNet.synsets(directory: dir), vocabulary: vocabulary, lowercase: text.lowercase)
        }
        let ends = Set([".", "!", "?"].compactMap { vocabulary.ids[$0] }.map { Int32($0) })
        return TextAugmenter(operations: operations, tables: tables, sentenceEnds: ends, text: text, tokenIDs: ids)
    }

    /// `ids` after every operation, in order.
    public func augment(_ ids: [Int32], rng: inout Xoshiro256) -> [Int32] {
        var ids = ids
        for op in operations {
            switch op {
            case .randomDeletion(let p): ids = TextAugmenter.randomDeletion(ids, p: p, rng: &rng)
            case .randomSwap(let p): ids = TextAugmenter.randomSwap(ids, p: p, rng: &rng)
            case let .randomInsertion(p, dir): ids = TextAugmenter.randomInsertion(ids, p: p, synonyms: tables[dir] ?? SynonymTable(synonyms: []), rng: &rng)
            case let .synonymReplacement(p, dir): ids = TextAugmenter.synonymReplacement(ids, p: p, synonyms: tables[dir] ?? SynonymTable(synonyms: []), rng: &rng)
            case .sentenceShuffle(let p): ids = TextAugmenter.sentenceShuffle(ids, p: p, sentenceEnds: sentenceEnds, rng: &rng)
            }
        }
        return ids
    }

    /// Writes the raw features of the examples `indices` (dataset indices), each augmented, into
    /// consecutive rows of `text.featureCount` values.
    public func encode(_ indices: ArraySlice<Int32>, into rows: UnsafeMutablePointer<Float>, rng: inout Xoshiro256) {
        let width = text.featureCount
        for (r, i) in indices.enumerated() {
            Vocabulary.encode(augment(tokenIDs[Int(i)], rng: &rng), config: text, into: rows + r * width)
        }
    }

    // MARK: - The operations on one example's ids

    /// Random deletion (EDA): each token is dropped when u < p, u ~ U[0, 1) drawn per token in
    /// order; if none is left, the token at a random position is kept. A text of one token or
    /// none is returned as it is.
    public static func randomDeletion(_ ids: [Int32], p: Float, rng: inout Xoshiro256) -> [Int32] {
        guard p > 0, ids.count > 1 else { return ids }
        var kept: [Int32] = []
        kept.reserveCapacity(ids.count)
        for id in ids where rng.nextUnitFloat() >= p { kept.append(id) }
        return kept.isEmpty ? [ids[rng.below(ids.count)]] : kept
    }

    /// Random swap (EDA): n = max(1, ⌊p·L⌋) times, positions i ~ U{0…L−1} and j ≠ i drawn,
    /// their tokens swapped. Keeps the multiset of tokens.
    public static func randomSwap(_ ids: [Int32], p: Float, rng: inout Xoshiro256) -> [Int32] {
        let n = TextAugmentation.changes(p: p, length: ids.count)
        guard n > 0, ids.count > 1 else { return ids }
        var out = ids
        for _ in 0..<n {
            let i = rng.below(out.count)
            var j = rng.below(out.count - 1)
            if j >= i { j += 1 }
            out.swapAt(i, j)
        }
        return out
    }

    /// Random insertion (EDA): n = max(1, ⌊p·L⌋) times, a token of the text is drawn (up to 10
    /// draws until one has synonyms; none found: nothing inserted this time), then one of its
    /// synonyms, then a position in 0…(current length) where the synonym goes.
    public static func randomInsertion(_ ids: [Int32], p: Float, synonyms: SynonymTable, rng: inout Xoshiro256) -> [Int32] {
        let n = TextAugmentation.changes(p: p, length: ids.count)
        guard n > 0, !ids.isEmpty else { return ids }
        var out = ids
        for _ in 0..<n {
            for _ in 0..<10 {
                let options = synonyms.of(out[rng.below(out.count)])
                guard !options.isEmpty else { continue }
                let word = options[rng.below(options.count)]
                out.insert(word, at: rng.below(out.count + 1))
                break
            }
        }
        return out
    }

    /// Synonym replacement (EDA): the distinct tokens that have synonyms, in order of first
    /// appearance, are shuffled; each of the first n = max(1, ⌊p·L⌋) is replaced at every
    /// occurrence by one of its synonyms drawn at random.
    public static func synonymReplacement(_ ids: [Int32], p: Float, synonyms: SynonymTable, rng: inout Xoshiro256) -> [Int32] {
        let n = TextAugmentation.changes(p: p, length: ids.count)
        guard n > 0 else { return ids }
        var candidates: [Int32] = []
        for id in ids where !synonyms.of(id).isEmpty && !candidates.contains(id) { candidates.append(id) }
        guard !candidates.isEmpty else { return ids }
        rng.shuffle(&candidates)
        var out = ids
        for word in candidates.prefix(n) {
            let options = synonyms.of(word)
            let replacement = options[rng.below(options.count)]
            for k in out.indices where out[k] == word { out[k] = replacement }
        }
        return out
    }

    /// Sentence shuffle: a text of two or more sentences (each ends after a token of
    /// `sentenceEnds`; trailing tokens form the last) draws u ~ U[0, 1); when u < p its
    /// sentences are shuffled (Fisher–Yates), each kept intact. Shorter texts draw nothing.
    public static func sentenceShuffle(_ ids: [Int32], p: Float, sentenceEnds: Set<Int32>, rng: inout Xoshiro256) -> [Int32] {
        guard p > 0 else { return ids }
        var sentences: [ArraySlice<Int32>] = []
        var start = 0
        for (k, id) in ids.enumerated() where sentenceEnds.contains(id) {
            sentences.append(ids[start...k])
            start = k + 1
        }
        if start < ids.count { sentences.append(ids[start...]) }
        guard sentences.count > 1, rng.nextUnitFloat() < p else { return ids }
        rng.shuffle(&sentences)
        return Array(sentences.joined())
    }
}
