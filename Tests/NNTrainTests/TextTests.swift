import Foundation
import NNCore
@testable import NNTrain
import Testing

// Text data: the CSV reader (RFC 4180 quoting), the tokenizer, the vocabulary fitted on the
// training split only, and the encodings.

private func textFile(_ name: String, _ text: String) throws -> String {
    let path = NSTemporaryDirectory() + "nntrain-text-\(name)-\(getpid()).csv"
    try FileIO.writeAtomically(path, text: text)
    return path
}

@Test func textReaderHandlesQuotesHeadersAndBadLabels() throws {
    let path = try textFile("quotes", "label,text\n1,\"a, b\"\n0,\"she said \"\"hi\"\"\"\n\n2,\"two\nlines\"\r\n1,plain\n")
    let d = try Dataset.load(.text(path: path, labelColumn: 0, textColumn: 1, header: nil, delimiter: 44), task: .classification)
    #expect(d.texts == ["a, b", "she said \"hi\"", "two\nlines", "plain"])
    #expect(d.targets == [1, 0, 2, 1] && d.classCount == 3 && d.hasLabels)
    // Without a label column: texts only, no labels; a header named "text" is skipped.
    let u = try Dataset.load(.text(path: try textFile("unlabeled", "text\nhello there\n"), labelColumn: nil, textColumn: 0, header: nil, delimiter: 44), task: .classification)
    #expect(u.texts == ["hello there"] && !u.hasLabels)
    // A blank line is no example; a quoted empty field alone on a line is an empty text.
    let e = try Dataset.load(.text(path: try textFile("empty", "text\none\n\n\"\"\n  \nthree\n\"\""), labelColumn: nil, textColumn: 0, header: nil, delimiter: 44), task: .classification)
    #expect(e.texts == ["one", "", "three", ""])
    // A label that is not a class index, too few columns, an unclosed quote: data errors naming the line.
    for (bad, what) in [("1,ok\nx,bad\n", "line 2"), ("1,ok\n3\n", "line 2"), ("1,\"open\n", "not closed"), ("1.5,half\n", "class index")] {
        do {
            _ = try Dataset.load(.text(path: try textFile("bad", bad), labelColumn: 0, textColumn: 1, header: false, delimiter: 44), task: .classification)
            Issue.record("\(bad) was accepted")
        } catch {
            #expect("\(error)".contains(what), "\(error)")
        }
    }
}

@Test func tokenizerSplitsWordsPunctuationAndCharacters() {
    var c = TextConfig()
    #expect(Tokenizer.tokens("A dog's bark, (loud)!", c) == ["a", "dog", "'", "s", "bark", ",", "(", "loud", ")", "!"])
    c.lowercase = false
    #expect(Tokenizer.tokens("Café 42x", c) == ["Café", "42x"])
    c.tokenize = .chars
    #expect(Tokenizer.tokens("Ab c", c) == ["A", "b", " ", "c"])
}

@Test func vocabularyIsFittedOnTheTrainingSplitOnly() throws {
    var c = TextConfig()
    c.maxSize = 5
    // By count, then text; min_count; max_size counts <pad> and <unk>.
    let v = Vocabulary.fit(["b a a", "c b a", "d"], c)
    #expect(v.tokens == ["<pad>", "<unk>", "a", "b", "c"])
    c.minCount = 2
    #expect(Vocabulary.fit(["b a a", "c b a", "d"], c).tokens == ["<pad>", "<unk>", "a", "b"])
    // Through a config: a word only in the validation split is not in the vocabulary.
    var rows = ["label,text"]
    for i in 0..<40 { rows.append("\(i % 2),common words \(i < 4 ? "heldout" : "train")") }
    let path = try textFile("split", rows.joined(separator: "\n") + "\n")
    let config = try readConfig(#"{"data": {"train": {"format": "text", "path": ""# + path + #""}, "validation_split": 0.5, "split_seed": 3, "text": {"max_size": 10}}, "model": {"input": [10], "layers": [{"type": "dense", "units": 2}]}}"#)
    let d = try Experiment.loadDataAndVocabulary(config)
    let trainTexts = d.train.indices.map { Int($0) }.map { i in rows[i + 1] }
    #expect(d.vocabulary?.tokens.contains("heldout") == trainTexts.contains { $0.hasSuffix("heldout") })
    #expect(d.train.dataset.featureCount == 10 && d.validation?.dataset === d.train.dataset)
}

@Test func encodingsAreBagOfWordsOrPaddedSequences() {
    var c = TextConfig()
    c.maxSize = 6
    let v = Vocabulary(tokens: ["<pad>", "<unk>", "a", "b", "c"])
    let raw = Dataset(storage: .floats([]), storedScale: 1, count: 2, sampleShape: [0], targets: [0, 1], classCount: 2, origin: "t",
                      texts: ["a b a zzz", "c"])
    #expect(raw.encoded(with: v, config: c).storage == .floats([0, 1, 2, 1, 0, 0, 0, 0, 0, 0, 1, 0]))
    c.binary = true
    #expect(raw.encoded(with: v, config: c).storage == .floats([0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0]))
    c.representation = .sequence; c.maxLength = 3
    #expect(raw.encoded(with: v, config: c).storage == .floats([2, 3, 2, 4, 0, 0]))
}
