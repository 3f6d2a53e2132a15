import Foundation
import NNCore
@testable import NNTrain
import Testing

// Text augmentation (data.augment's text entries): each operation's effect on hand-made
// sentences with a known generator, the WordNet reader on a committed wndb fixture and on
// damaged copies of it, the batch encoding, training-only use and resumability.

private let wordnetFixture = fixturesDirectory + "/wordnet"

/// A vocabulary of the words of `texts` (in their order of first appearance, after <pad>, <unk>).
private func vocabulary(_ texts: [String]) -> Vocabulary {
    var tokens = [Vocabulary.pad, Vocabulary.unknown]
    for t in texts { for w in Tokenizer.tokens(t, TextConfig()) where !tokens.contains(w) { tokens.append(w) } }
    return Vocabulary(tokens: tokens)
}

private func ids(_ text: String, _ v: Vocabulary) -> [Int32] { Tokenizer.tokens(text, TextConfig()).map { Int32(v.id($0)) } }
private func words(_ ids: [Int32], _ v: Vocabulary) -> String { ids.map { v.tokens[Int($0)] }.joined(separator: " ") }

/// True when `sub` is `all` with some elements left out (order kept).
private func isSubsequence(_ sub: [Int32], of all: [Int32]) -> Bool {
    var it = all.makeIterator()
    return sub.allSatisfy { s in while let a = it.next() { if a == s { return true } }; return false }
}

private let sentence = "the big dog saw a car near the large house"
private let lexicon = vocabulary([sentence, "auto automobile machine motorcar feline felid talk speak quickly rapidly . ! ?"])
private let synonyms = SynonymTable(synsets: try! WordNet.synsets(directory: wordnetFixture), vocabulary: lexicon, lowercase: true)

// MARK: - WordNet

@Test func wordnetReaderReadsTheFixtureSynsets() throws {
    let synsets = try WordNet.synsets(directory: wordnetFixture)
    // File order (noun, verb, adj, adv), line order; multi-word lemmas and single-lemma synsets
    // left out, the adjective marker "(ip)" removed.
    #expect(synsets == [["car", "auto", "automobile", "machine", "motorcar"], ["feline", "felid"],
                        ["talk", "speak", "utter", "mouth", "verbalize", "verbalise"],
                        ["large", "big"], ["abounding", "galore"],
                        ["quickly", "rapidly", "speedily", "chop-chop", "apace"]])
    // The table: vocabulary ids only, both directions, in id order; none for <pad>, <unk>, "dog".
    func of(_ w: String) -> [String] { synonyms.of(Int32(lexicon.id(w))).map { lexicon.tokens[Int($0)] } }
    #expect(of("car") == ["auto", "automobile", "machine", "motorcar"])
    #expect(of("auto") == ["car", "automobile", "machine", "motorcar"])
    #expect(of("big") == ["large"] && of("large") == ["big"] && of("talk") == ["speak"] && of("quickly") == ["rapidly"])
    #expect(of("dog").isEmpty && of("the").isEmpty && synonyms.of(0).isEmpty && synonyms.of(1).isEmpty)
    // A vocabulary of text kept in its case matches lemmas as written.
    let cased = SynonymTable(synsets: [["Car", "auto"]], vocabulary: Vocabulary(tokens: ["<pad>", "<unk>", "car", "auto"]), lowercase: false)
    #expect(cased.of(2).isEmpty && cased.of(3).isEmpty)
}

@Test(.enabled(if: FileIO.isDirectory(TextAugmentation.defaultWordNet), "WordNet 3.0 is not installed at /usr/share/wordnet (apt-get install wordnet-base)"))
func wordnetReaderReadsTheInstalledWordNet() throws {
    let synsets = try WordNet.synsets(directory: TextAugmentation.defaultWordNet)
    #expect(synsets.count > 20_000, "\(synsets.count) synsets")
    #expect(synsets.contains(["car", "auto", "automobile", "machine", "motorcar"]))
}

@Test func wordnetReaderRejectsMissingAndDamagedFiles() throws {
    let good = try FileIO.read(wordnetFixture + "/data.noun")
    // Every truncation: a whole number of lines parses, anything else is "truncated"; none crashes.
    let lineEnds = Set(good.indices.filter { good[$0] == 0x0A }.map { $0 + 1 })
    for n in 0..<good.count {
        do {
            _ = try WordNet.parse(Array(good.prefix(n)), path: "data.noun")
            #expect(n == 0 || lineEnds.contains(n), "cut at \(n) accepted")
        } catch {
            #expect(!lineEnds.contains(n) && error.message.contains("truncated"), "cut at \(n): \(error)")
        }
    }
    // Flipped bytes never crash the reader (most are caught by the offset and field checks).
    var rng = SplitMix64(seed: 21)
    for _ in 0..<400 {
        var bad = good
        for _ in 0..<(1 + Int(rng.next() % 4)) { bad[Int(rng.next() % UInt64(bad.count))] = UInt8(truncatingIfNeeded: rng.next()) }
        _ = try? WordNet.parse(bad, path: "data.noun")
    }
    // Hand-made damage, each a data error naming the line.
    let header = "  1 license\n"
    let cases: [(String, String)] = [
        (header + "00000099 05 n 01 dog 0 000 | a dog\n", "line 2: expected a synset"),                  // offset ≠ byte position
        (header + "00000012 05 x 01 dog 0 000 | a dog\n", "line 2: expected a synset"),                  // no such ss_type
        (header + "00000012 05 n 03 dog 0 000 | a dog\n", "line 2: expected a synset"),                  // w_cnt beyond the fields
        (header + "00000012 05 n 01 dog 0 000 | a dog\n  2 late license\n", "line 3: a license line"),
        (header + "\n", "line 2: expected a synset"),
        ("\u{0}\u{1}garbage\n", "line 1: expected a synset"),
        (String(repeating: "x", count: WordNet.maxLineBytes + 10) + "\n", "longer than"),
    ]
    for (text, expected) in cases {
        #expect(throws: DataError.self) { _ = try WordNet.parse(Array(text.utf8), path: "data.noun") }
        do { _ = try WordNet.parse(Array(text.utf8), path: "data.noun") } catch {
            #expect(error.description.contains(expected), "\(error)")
        }
    }
    // A good hand-made line parses (offset 12 = after the 12-byte header).
    #expect(try WordNet.parse(Array((header + "00000012 05 n 02 dog 0 hound 1 000 | a dog\n").utf8), path: "x").synsets == [["dog", "hound"]])

    // Directories: missing (exit 3 with the install hint), a missing file, a file too large, no synsets.
    do { _ = try WordNet.synsets(directory: "/nonexistent/wordnet"); Issue.record("missing directory accepted") } catch {
        #expect(error.description == "/nonexistent/wordnet: WordNet not found (the synonym augmentations read data.noun, data.verb, data.adj, data.adv there): install WordNet 3.0 with `sudo apt-get install wordnet-base` (or `make data`), or set the augmentation's \"wordnet\" to its directory")
    }
    let dir = scratchDirectory("wordnet-damaged")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for name in WordNet.files where name != "data.verb" {
        try FileIO.writeAtomically(dir + "/" + name, text: String(decoding: try FileIO.read(wordnetFixture + "/" + name), as: UTF8.self))
    }
    #expect(throws: DataError.self) { _ = try WordNet.synsets(directory: dir) }
    try FileIO.writeAtomically(dir + "/data.verb", text: header)
    #expect(try WordNet.synsets(directory: dir).count == 5)
    for name in WordNet.files { try FileIO.writeAtomically(dir + "/" + name, text: header) }
    do { _ = try WordNet.synsets(directory: dir); Issue.record("no synsets accepted") } catch {
        #expect(error.message.contains("no synsets"), "\(error)")
    }
    let big = FileHandle(forWritingAtPath: dir + "/data.noun")
    try big?.truncate(atOffset: UInt64(WordNet.maxFileBytes + 1))
    try big?.close()
    #expect(throws: DataError.self) { _ = try WordNet.synsets(directory: dir) }
}

// MARK: - The operations

@Test func randomDeletionKeepsOrderAndNeverEmptiesAText() {
    let s = ids(sentence, lexicon)
    var rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(TextAugmenter.randomDeletion(s, p: 0, rng: &rng) == s)
    #expect(TextAugmenter.randomDeletion([5], p: 1, rng: &rng) == [5])
    #expect(rng == Xoshiro256(seed: 7, stream: .augmentation), "p = 0 and one-token texts draw nothing")
    // p = 1 deletes everything but one token of the text.
    let one = TextAugmenter.randomDeletion(s, p: 1, rng: &rng)
    #expect(one.count == 1 && s.contains(one[0]))
    var deleted = 0
    for _ in 0..<200 {
        let out = TextAugmenter.randomDeletion(s, p: 0.3, rng: &rng)
        #expect(!out.isEmpty && isSubsequence(out, of: s))
        deleted += s.count - out.count
    }
    #expect(deleted > 200 * 10 * 2 / 10 && deleted < 200 * 10 * 4 / 10, "about 30 % deleted: \(deleted) of 2000")
    // The exact effect with a fixed generator (this pins the order of the draws).
    rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(words(TextAugmenter.randomDeletion(s, p: 0.3, rng: &rng), lexicon) == "the big dog a near the house")
}

@Test func randomSwapKeepsTheTokens() {
    let s = ids(sentence, lexicon)  // 10 tokens, "the" twice
    var rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(TextAugmenter.randomSwap(s, p: 0, rng: &rng) == s && TextAugmenter.randomSwap([3], p: 1, rng: &rng) == [3])
    for (p, swaps) in [(Float(0.05), 1), (0.1, 1), (0.25, 2), (0.5, 5)] {
        #expect(TextAugmentation.changes(p: p, length: s.count) == swaps)
        for _ in 0..<50 {
            let out = TextAugmenter.randomSwap(s, p: p, rng: &rng)
            #expect(out.sorted() == s.sorted())
            // One swap of two different positions changes exactly two (unless both are "the").
            if swaps == 1 { #expect([0, 2].contains(zip(out, s).filter { $0 != $1 }.count)) }
        }
    }
    rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(words(TextAugmenter.randomSwap(s, p: 0.2, rng: &rng), lexicon) == "the near dog saw a car big large the house")
}

@Test func randomInsertionAddsSynonymsOfTheTextsWords() {
    let s = ids(sentence, lexicon)
    var rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(TextAugmenter.randomInsertion(s, p: 0, synonyms: synonyms, rng: &rng) == s)
    // No synonyms: nothing to insert (EDA gives up after 10 draws each time).
    #expect(TextAugmenter.randomInsertion(s, p: 0.5, synonyms: SynonymTable(synonyms: []), rng: &rng) == s)
    #expect(TextAugmenter.randomInsertion(ids("the dog saw a house", lexicon), p: 1, synonyms: synonyms, rng: &rng) == ids("the dog saw a house", lexicon))
    let allowed = Set(s.flatMap { synonyms.of($0) })  // auto, automobile, machine, motorcar, big, large
    var inserted = 0
    for _ in 0..<100 {
        // n = 2 insertions, each after up to 10 draws of a word with synonyms (3 of the 10 here).
        let out = TextAugmenter.randomInsertion(s, p: 0.2, synonyms: synonyms, rng: &rng)
        #expect(out.count >= s.count && out.count <= s.count + 2 && isSubsequence(s, of: out))
        inserted += out.count - s.count
        // What was added: words of the table's synonyms of words in the text.
        var rest = out
        for id in s { rest.remove(at: rest.firstIndex(of: id)!) }
        #expect(rest.allSatisfy { allowed.contains($0) }, "\(words(out, lexicon))")
    }
    #expect(inserted > 180, "\(inserted) of 200 insertions")
    rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(words(TextAugmenter.randomInsertion(s, p: 0.2, synonyms: synonyms, rng: &rng), lexicon) == "the large big dog saw a car near big the large house")
}

@Test func synonymReplacementOnlyReplacesWordsWithSynonyms() {
    let v = vocabulary([sentence, "auto automobile machine motorcar and"])
    let table = SynonymTable(synsets: try! WordNet.synsets(directory: wordnetFixture), vocabulary: v, lowercase: true)
    let t = ids("the car and the big car", v)
    var rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(TextAugmenter.synonymReplacement(t, p: 0, synonyms: table, rng: &rng) == t)
    #expect(TextAugmenter.synonymReplacement(ids("the dog saw a house", v), p: 1, synonyms: table, rng: &rng) == ids("the dog saw a house", v))
    var seen = Set<String>()
    for _ in 0..<100 {
        // n = max(1, ⌊0.1·6⌋) = 1: one word type replaced, at every occurrence.
        let out = TextAugmenter.synonymReplacement(t, p: 0.1, synonyms: table, rng: &rng)
        let changed = zip(out, t).filter { $0 != $1 }
        #expect(!changed.isEmpty && Set(changed.map(\.1)).count == 1)
        for (new, old) in changed { #expect(table.of(old).contains(new)) }
        #expect(out[0] == t[0] && out[2] == t[2] && out[3] == t[3], "the, and keep")
        #expect(out[1] == out[5], "car replaced at both places alike")
        seen.insert(words(out, v))
    }
    #expect(seen.contains("the auto and the big auto") && seen.contains("the car and the large car"))
    // p = 1: both word types with synonyms replaced.
    let both = TextAugmenter.synonymReplacement(t, p: 1, synonyms: table, rng: &rng)
    #expect(both[1] != t[1] && both[4] == Int32(v.id("large")))
    rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(words(TextAugmenter.synonymReplacement(ids(sentence, lexicon), p: 0.2, synonyms: synonyms, rng: &rng), lexicon) == "the large dog saw a auto near the large house")
}

@Test func sentenceShufflePermutesWholeSentences() {
    let text = "the dog saw a car . the house is big ! is it large ? quickly talk"
    let v = vocabulary([text])
    let s = ids(text, v)
    let ends = Set([".", "!", "?"].map { Int32(v.id($0)) })
    let sentences = ["the dog saw a car .", "the house is big !", "is it large ?", "quickly talk"]
    var rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(TextAugmenter.sentenceShuffle(s, p: 0, sentenceEnds: ends, rng: &rng) == s)
    let single = ids("one sentence only .", vocabulary(["one sentence only ."]))
    #expect(TextAugmenter.sentenceShuffle(single, p: 1, sentenceEnds: ends, rng: &rng) == single)
    #expect(rng == Xoshiro256(seed: 7, stream: .augmentation), "p = 0 and one-sentence texts draw nothing")
    var orders = Set<String>()
    for _ in 0..<200 {
        let out = words(TextAugmenter.sentenceShuffle(s, p: 1, sentenceEnds: ends, rng: &rng), v)
        // A permutation of the sentences, each intact.
        let perm = permutations(sentences).first { $0.joined(separator: " ") == out }
        #expect(perm != nil, "\(out)")
        orders.insert(out)
    }
    #expect(orders.count > 12, "\(orders.count) of 24 orders seen")
    // p = 0.5: about half the texts are shuffled (a shuffle may give the same order, 1 in 24).
    let changed = (0..<400).filter { _ in TextAugmenter.sentenceShuffle(s, p: 0.5, sentenceEnds: ends, rng: &rng) != s }.count
    #expect(changed > 150 && changed < 230, "\(changed) of 400")
    rng = Xoshiro256(seed: 7, stream: .augmentation)
    #expect(words(TextAugmenter.sentenceShuffle(s, p: 1, sentenceEnds: ends, rng: &rng), v) == "the house is big ! the dog saw a car . is it large ? quickly talk")
}

private func permutations(_ a: [String]) -> [[String]] {
    guard a.count > 1 else { return [a] }
    return a.indices.flatMap { i in permutations(Array(a[..<i] + a[(i + 1)...])).map { [a[i]] + $0 } }
}

// MARK: - Batches and runs

/// A text config on the shipped WordNet subset (small, for debug builds), the fixture WordNet.
private func subsetTextConfig(augment: String, representation: String = "bag_of_words", epochs: Int = 3, prefetch: Bool = true) throws -> ExperimentConfig {
    let width = representation == "sequence" ? 12 : 500
    return try readConfig("""
    {"name": "text-augment", "seed": 5, "threads": 1,
     "data": {"train": {"format": "text", "path": "data/wordnet-subset/train.csv"}, "test": {"format": "text", "path": "data/wordnet-subset/test.csv"},
              "validation_split": 0.1, "text": {"min_count": 2, "max_size": 500, "representation": "\(representation)", "max_length": 12},
              "augment": \(augment)},
     "model": {"input": [\(width)], "layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 8}]},
     "optimizer": {"type": "adam", "lr": 0.003},
     "training": {"epochs": \(epochs), "batch_size": 64, "log_every": 5, "prefetch": \(prefetch)}}
    """)
}

private let everyOperation = #"[{"type": "sentence_shuffle", "p": 0.5}, {"type": "synonym_replacement", "p": 0.2, "wordnet": "Tests/NNTrainTests/Fixtures/wordnet"}, {"type": "random_insertion", "p": 0.1, "wordnet": "Tests/NNTrainTests/Fixtures/wordnet"}, {"type": "random_swap", "p": 0.1}, {"type": "random_deletion", "p": 0.1}]"#

@Test(arguments: ["bag_of_words", "sequence"])
func augmenterReencodesTheFullTokenList(representation: String) throws {
    let config = try subsetTextConfig(augment: #"[{"type": "random_deletion", "p": 0}, {"type": "random_swap", "p": 0}]"#, representation: representation)
    let d = try Experiment.loadDataAndVocabulary(config)
    let vocab = try #require(d.vocabulary)
    let ds = d.train.dataset
    let f = ds.featureCount
    let text = try #require(config.data.text)
    let identity = try #require(try TextAugmenter.make(config.data.augment, text: text, vocabulary: vocab, dataset: ds))
    // p = 0: the rows are the dataset's own features.
    let rows = TensorStorage(capacity: 64 * f)
    var rng = Xoshiro256(seed: 1, stream: .augmentation)
    identity.encode(d.train.indices[0..<64], into: rows.base, rng: &rng)
    for (r, i) in d.train.indices[0..<64].enumerated() {
        #expect((0..<f).allSatisfy { rows.base[r * f + $0] == ds.value(Int(i), $0) }, "example \(i)")
    }
    #expect(ds.tokenIDs?.count == ds.count && d.validation?.dataset.tokenIDs?.count == ds.count)
    #expect(try Experiment.loadDataAndVocabulary(subsetTextConfig(augment: "[]")).train.dataset.tokenIDs == nil)
    guard representation == "sequence" else { return }
    // A sequence is cut to max_length after the augmentation: deleting tokens brings in ones
    // from beyond the first 12.
    let deletion = TextAugmenter(operations: [.randomDeletion(p: 0.5)], tables: [:], sentenceEnds: [], text: identity.text, tokenIDs: identity.tokenIDs)
    let long = try #require(d.train.indices.first { identity.tokenIDs[Int($0)].count > 24 })
    let tail = Set(identity.tokenIDs[Int(long)].dropFirst(12)).subtracting(identity.tokenIDs[Int(long)].prefix(12))
    var reached = false
    for _ in 0..<20 {
        deletion.encode([long], into: rows.base, rng: &rng)
        reached = reached || (0..<12).contains { tail.contains(Int32(rows.base[$0])) }
        #expect(rows.base[0] != 0)
    }
    #expect(reached)
}

@Test func textAugmentationChangesTrainingBatchesOnly() throws {
    func session(_ augment: String) throws -> Experiment.Session {
        try Experiment.prepare(try subsetTextConfig(augment: augment, prefetch: false), options: Experiment.Options(), threads: 1)
    }
    let plain = try session("[]"), augmented = try session(everyOperation)
    #expect(plain.trainer.textAugmenter == nil && augmented.trainer.textAugmenter != nil)
    // The same initial weights: validation and test figures are the same.
    let validation = try #require(plain.trainer.validation), test = try #require(plain.trainer.test)
    #expect(plain.trainer.evaluate(validation) == augmented.trainer.evaluate(try #require(augmented.trainer.validation)))
    #expect(plain.trainer.evaluate(test) == augmented.trainer.evaluate(try #require(augmented.trainer.test)))
    // The first training batch: same examples, same targets, different features.
    plain.trainer.beginEpoch()
    augmented.trainer.beginEpoch()
    let (x0, t0) = plain.trainer.nextBatch(64), (x1, t1) = augmented.trainer.nextBatch(64)
    #expect((0..<64).allSatisfy { t0[$0] == t1[$0] })
    #expect(x0.scalars != x1.scalars)
}

@Test func textAugmentedRunIsSeededAndResumesIdentically() throws {
    func fingerprint(_ dir: String) throws -> [String] {
        let curves = try String(contentsOfFile: dir + "/curves.csv", encoding: .utf8).split(separator: "\n").map { String($0[..<$0.lastIndex(of: ",")!]) }
        return curves + [try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8), "\(try FileIO.read(dir + "/model.safetensors"))"]
    }
    func run(_ name: String, _ config: ExperimentConfig, signalAtPoll: Int? = nil) throws -> String {
        var options = Experiment.Options()
        options.outputDirectory = scratchDirectory(name)
        options.force = true
        if let k = signalAtPoll {
            var polls = 0
            options.pendingSignal = { polls += 1; return polls == k ? SIGTERM : 0 }
            #expect(throws: RunError.self) { _ = try Experiment.run(config, options: options) }
            options.pendingSignal = { 0 }
            _ = try Experiment.resume(directory: options.outputDirectory!, overrides: [], options: options)
        } else {
            _ = try Experiment.run(config, options: options)
        }
        return options.outputDirectory!
    }
    let whole = try fingerprint(try run("text-aug-whole", try subsetTextConfig(augment: everyOperation)))
    #expect(try fingerprint(try run("text-aug-again", try subsetTextConfig(augment: everyOperation))) == whole, "same seed, same run")
    #expect(try fingerprint(try run("text-aug-noprefetch", try subsetTextConfig(augment: everyOperation, prefetch: false))) == whole)
    // Interrupted in the middle of epoch 2 (34 steps an epoch), with a batch prefetched: resumed, the same run.
    #expect(try fingerprint(try run("text-aug-resumed", try subsetTextConfig(augment: everyOperation), signalAtPoll: 45)) == whole)
    #expect(try fingerprint(try run("text-aug-none", try subsetTextConfig(augment: "[]"))) != whole)
}

// MARK: - Config

@Test func textAugmentationConfigIsValidated() throws {
    func problems(_ augment: String, text: String = "{}", train: String = #"{"format": "text", "path": "data/wordnet-subset/train.csv"}"#, input: String = "[10000]") -> [String] {
        configProblems(#"{"data": {"train": \#(train), "text": \#(text), "augment": \#(augment)}, "model": {"input": \#(input), "layers": [{"type": "dense", "units": 8}]}}"#)
    }
    #expect(problems(#"[{"type": "random_deletion"}, {"type": "random_swap", "p": 0}, {"type": "random_insertion", "p": 1}, {"type": "synonym_replacement", "wordnet": "wn"}, {"type": "sentence_shuffle"}]"#) == [])
    // Defaults, and the WordNet directory resolved against the config's folder, in the resolved config.
    let config = try readConfig(#"{"data": {"train": {"format": "text", "path": "data/wordnet-subset/train.csv"}, "augment": [{"type": "random_deletion"}, {"type": "synonym_replacement", "wordnet": "wn"}, {"type": "random_insertion"}, {"type": "sentence_shuffle"}]}, "model": {"input": [10000], "layers": [{"type": "dense", "units": 8}]}}"#)
    #expect(config.data.augment == [.text(.randomDeletion(p: 0.1)), .text(.synonymReplacement(p: 0.1, wordnet: repositoryRoot + "wn")),
                                    .text(.randomInsertion(p: 0.1, wordnet: "/usr/share/wordnet")), .text(.sentenceShuffle(p: 0.5))])
    #expect(config.resolved["data"]?["augment"]?.serialized(indent: 0) == #"[{"type":"random_deletion","p":0.1},{"type":"synonym_replacement","p":0.1,"wordnet":"\#(repositoryRoot)wn"},{"type":"random_insertion","p":0.1,"wordnet":"/usr/share/wordnet"},{"type":"sentence_shuffle","p":0.5}]"#)
    #expect(problems(#"[{"type": "random_swap", "p": 1.5}]"#) == ["$.data.augment.0.p: expected number in 0...1, got 1.5"])
    #expect(problems(#"[{"type": "random_swap", "wordnet": "x"}]"#) == [#"$.data.augment.0.wordnet: unknown key; known keys here: type, p"#])
    #expect(problems(#"[{"type": "synonym_replacement", "wordnet": 3}]"#) == ["$.data.augment.0.wordnet: expected string, got number 3"])
    #expect(problems(#"[{"type": "random_deletion"}]"#, text: #"{"tokenize": "chars"}"#)
            == [#"$.data.augment.0: text augmentations change words: they need data.text.tokenize "words", got "chars""#])
    #expect(problems(#"[{"type": "horizontal_flip"}, {"type": "gaussian_noise"}]"#, text: #"{"representation": "sequence"}"#, input: "[64]")
            == ["$.data.augment.0: image augmentations need images; a text source takes random_deletion, random_swap, random_insertion, synonym_replacement, sentence_shuffle",
                #"$.data.augment.1: gaussian_noise would change token ids (data.text.representation "sequence"); a text source takes random_deletion, random_swap, random_insertion, synonym_replacement, sentence_shuffle"#])
    #expect(problems(#"[{"type": "gaussian_noise"}]"#) == [], "noise on a bag of words' features is allowed")
    #expect(problems(#"[{"type": "random_swap"}]"#, train: #"{"format": "csv", "path": "x.csv"}"#, input: "[6]")
            == [#"$.data.augment.0: text augmentations need a text training source (data.train {"format": "text", …})"#])
}
