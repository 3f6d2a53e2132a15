import NNCore

/// `data.text`: how the examples of `text` sources become numbers. The vocabulary is fitted on
/// the training split only: its tokens by count (then text), those seen at least `minCount`
/// times, at most `maxSize` entries counting `<pad>` (id 0) and `<unk>` (id 1, any other
/// token). An example is then either its bag of words, `maxSize` features: feature i counts
/// the tokens with id i (`binary`: 1 when present), `<pad>` never counted; or its first
/// `maxLength` token ids as a sequence, padded with 0 (for an embedding layer).
public struct TextConfig: Sendable, Equatable {
    public enum Tokenize: String, Sendable { case words, chars }
    public enum Representation: String, Sendable { case bagOfWords = "bag_of_words", sequence }

    /// words: runs of letters and digits, each other non-space character a token of its own;
    /// chars: every character, spaces included.
    public var tokenize: Tokenize = .words
    public var lowercase = true
    public var minCount = 1
    public var maxSize = 10_000
    public var representation: Representation = .bagOfWords
    public var binary = false
    public var maxLength = 64

    public init() {}

    /// Features per example: `maxSize` for a bag of words, `maxLength` for a sequence.
    public var featureCount: Int { representation == .bagOfWords ? maxSize : maxLength }

    static func read(_ r: ObjectReader) -> TextConfig {
        defer { r.finish() }
        var c = TextConfig()
        c.tokenize = Tokenize(rawValue: r.choice("tokenize", ["words", "chars"], default: "words") ?? "words") ?? .words
        c.lowercase = r.bool("lowercase", default: true)
        c.minCount = r.int("min_count", default: 1, check: .closed(1, 1_000_000_000))
        c.maxSize = r.int("max_size", default: 10_000, check: .closed(3, 4_194_304))
        c.representation = Representation(rawValue: r.choice("representation", ["bag_of_words", "sequence"], default: "bag_of_words") ?? "") ?? .bagOfWords
        c.binary = r.bool("binary", default: false)
        c.maxLength = r.int("max_length", default: 64, check: .closed(1, 1_048_576))
        return c
    }
}
