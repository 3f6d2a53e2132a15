import NNCore

/// One text entry of `data.augment`: the EDA operations (Wei & Zou 2019, "EDA: Easy Data
/// Augmentation Techniques for Boosting Performance on Text Classification",
/// https://arxiv.org/abs/1901.11196) and sentence shuffling, applied to a training example's
/// token ids (punctuation tokens included) before it is encoded. For the word operations `p`
/// is EDA's α: with L tokens, n = max(1, ⌊p·L⌋) tokens change (none when p = 0).
public enum TextAugmentation: Sendable, Equatable {
    /// Each token is deleted with probability p; a text never loses its last token.
    case randomDeletion(p: Float)
    /// n times, swap the tokens at two different random positions.
    case randomSwap(p: Float)
    /// n times, insert a WordNet synonym of a random token (of those with one; up to 10 tries,
    /// as EDA) at a random position in 0...L.
    case randomInsertion(p: Float, wordnet: String)
    /// Up to n distinct token types that have WordNet synonyms, in random order, each replaced
    /// at every occurrence by one random synonym (EDA replaces every occurrence too).
    case synonymReplacement(p: Float, wordnet: String)
    /// With probability p, the sentences of a text with two or more (a sentence ends after a
    /// ".", "!" or "?" token; trailing tokens form the last) are put in a random order, each
    /// kept intact.
    case sentenceShuffle(p: Float)

    static let types = ["random_deletion", "random_swap", "random_insertion", "synonym_replacement", "sentence_shuffle"]
    /// Where Debian's `wordnet-base` installs WordNet 3.0.
    public static let defaultWordNet = "/usr/share/wordnet"

    /// Reads the entry whose `type` (already read) is one of `types`.
    static func read(_ r: ObjectReader, type: String, baseDirectory: String) -> TextAugmentation {
        func wordnet() -> String {
            let path = resolvePath(r.string("wordnet", default: defaultWordNet) ?? defaultWordNet, baseDirectory)
            r.record("wordnet", .string(path))
            return path
        }
        // Read as a double so that the resolved config shows the default 0.1 as 0.1.
        func p(_ def: Double) -> Float { Float(r.double("p", default: def, check: .closed(0, 1))) }
        switch type {
        case "random_deletion": return .randomDeletion(p: p(0.1))
        case "random_swap": return .randomSwap(p: p(0.1))
        case "random_insertion": return .randomInsertion(p: p(0.1), wordnet: wordnet())
        case "synonym_replacement": return .synonymReplacement(p: p(0.1), wordnet: wordnet())
        default: return .sentenceShuffle(p: p(0.5))
        }
    }

    /// The WordNet directory the operation reads synonyms from, if any.
    public var wordnet: String? {
        switch self {
        case .randomInsertion(_, let w), .synonymReplacement(_, let w): return w
        default: return nil
        }
    }

    /// EDA's count of tokens to change in a text of `length` tokens: max(1, ⌊p·length⌋), 0 for p = 0.
    static func changes(p: Float, length: Int) -> Int {
        p > 0 ? max(1, Int(Double(p) * Double(length))) : 0
    }
}
