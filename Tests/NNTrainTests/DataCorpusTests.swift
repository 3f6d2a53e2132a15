import NNCore
@testable import NNTrain
import Testing

/// Corrupt data files made from the shipped subset (seeded): truncated and bit-flipped gzip,
/// IDX files with wrong magic numbers, wrong or implausible dimensions, counts that disagree
/// and labels out of range, and broken CSV. Each must be a data error naming the file.
struct DataCorpus {
    struct Case: CustomStringConvertible, Sendable {
        var kind: String
        var detail: String
        var images: [UInt8]?      // IDX images (nil: the good file)
        var labels: [UInt8]?      // IDX labels (nil: the good file)
        var csv: String?          // a CSV source instead of IDX
        var description: String { "\(kind): \(detail)" }
    }

    static let imagesPath = repositoryRoot + "data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz"
    static let labelsPath = repositoryRoot + "data/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz"

    static func generate(seed: UInt64) throws -> [Case] {
        var rng = SplitMix64(seed: seed)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let gzImages = try FileIO.read(imagesPath)
        let gzLabels = try FileIO.read(labelsPath)
        let rawImages = try Gzip.decompress(gzImages, file: imagesPath)
        let rawLabels = try Gzip.decompress(gzLabels, file: labelsPath)
        var cases: [Case] = []
        for _ in 0..<20 {
            let n = below(gzImages.count - 1)
            cases.append(Case(kind: "truncated gzip", detail: "images cut to \(n) bytes", images: Array(gzImages.prefix(n))))
        }
        for _ in 0..<5 {
            let n = below(gzLabels.count - 1)
            cases.append(Case(kind: "truncated gzip", detail: "labels cut to \(n) bytes", labels: Array(gzLabels.prefix(n))))
        }
        for _ in 0..<25 {
            var b = gzImages
            // Not the gzip header fields no check covers (flags, mtime, extra flags, OS: 3...9).
            var at = below(b.count)
            while (3...9).contains(at) { at = below(b.count) }
            b[at] ^= UInt8(1 << below(8))
            // Some flips change nothing that is decoded (a Huffman code length of a symbol the
            // block never uses): the same images, rightly accepted, so not a corrupt file.
            if let same = try? Gzip.decompress(b, file: "flip"), same == rawImages { continue }
            cases.append(Case(kind: "corrupt gzip", detail: "bit flip at byte \(at)", images: b))
        }
        for _ in 0..<15 {
            let n = below(rawImages.count - 1)
            cases.append(Case(kind: "truncated IDX", detail: "raw images cut to \(n) bytes", images: Array(rawImages.prefix(n))))
        }
        for (at, value, what) in [(0, 1, "magic byte 0"), (1, 8, "magic byte 1"), (2, 0x0D, "float element type"),
                                   (2, 0x09, "signed byte type"), (3, 0, "rank 0"), (3, 9, "rank 9")] {
            var b = rawImages
            b[at] = UInt8(value)
            cases.append(Case(kind: "wrong magic", detail: what, images: b))
        }
        let badDims: [([UInt8], String)] = [([255, 255, 255, 255], "count 2^32-1"), ([0, 0, 1, 0], "count 256 for 500 images of data"),
                             ([0, 0, 0, 0], "zero images")]
        for (dims, what) in badDims {
            var b = rawImages
            b.replaceSubrange(4..<8, with: dims)
            cases.append(Case(kind: "bad dimensions", detail: what, images: b))
        }
        // Dimensions whose product overflows Int or passes any size check only by wrapping.
        for dims in [[4, 1 << 31, 1 << 31], [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], [0x8000_0000, 2, 0x8000_0000, 4],
                     [1 + below(1 << 16), 1 << 24, 1 << 24]] {
            var b: [UInt8] = [0, 0, 8, UInt8(dims.count)]
            for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
            cases.append(Case(kind: "overflowing dimensions", detail: "\(dims)", images: b + Array(rawImages[16..<1000])))
        }
        var fewer = rawLabels
        fewer.replaceSubrange(4..<8, with: [0, 0, 1, 243])  // 499 labels, 500 images
        cases.append(Case(kind: "count mismatch", detail: "499 labels for 500 images", labels: Array(fewer.dropLast())))
        var moreImages = rawImages
        moreImages.replaceSubrange(4..<8, with: [0, 0, 1, 245])
        moreImages += [UInt8](repeating: 0, count: 784)
        cases.append(Case(kind: "count mismatch", detail: "501 images for 500 labels", images: moreImages))
        cases.append(Case(kind: "count mismatch", detail: "extra bytes after the labels", labels: rawLabels + [1, 2, 3]))
        var wrongRank = rawLabels
        wrongRank[3] = 2
        cases.append(Case(kind: "wrong rank", detail: "labels of rank 2", labels: wrongRank))
        for label in [10, 11, 200, 255] {
            var b = rawLabels
            b[8 + below(500)] = UInt8(label)
            cases.append(Case(kind: "label out of range", detail: "label \(label) for 10 outputs", labels: b))
        }
        // CSV: the first 40 test images as rows "label,p0,...,p783".
        var rows: [String] = []
        for i in 0..<40 {
            let px = rawImages[16 + i * 784..<16 + (i + 1) * 784].map { String($0) }
            rows.append(String(rawLabels[8 + i]) + "," + px.joined(separator: ","))
        }
        func csvCase(_ what: String, _ edit: (inout [String]) -> Void) {
            var r = rows
            edit(&r)
            cases.append(Case(kind: "bad CSV", detail: what, csv: r.joined(separator: "\n") + "\n"))
            // The same file as Excel on Windows writes it: a byte order mark and CRLF line ends.
            cases.append(Case(kind: "bad CSV (BOM, CRLF)", detail: what, csv: "\u{FEFF}" + r.joined(separator: "\r\n") + "\r\n"))
        }
        for _ in 0..<6 {
            let i = below(40)
            csvCase("row \(i) short") { r in r[i] = String(r[i].split(separator: ",").dropLast(3).joined(separator: ",")) }
        }
        for bad in ["x", "nan", "inf", "1e999", "--1", "0x1F", ""] {
            let i = below(40), c = 1 + below(784)
            csvCase("field \(bad) at row \(i)") { r in
                var f = r[i].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                f[c] = bad
                r[i] = f.joined(separator: ",")
            }
        }
        for label in ["-1", "2.5", "10", "1e6"] {
            let i = below(40)
            csvCase("label \(label)") { r in
                var f = r[i].split(separator: ",").map(String.init)
                f[0] = label
                r[i] = f.joined(separator: ",")
            }
        }
        csvCase("truncated mid-row") { r in r[39] = String(r[39].prefix(200)) }
        csvCase("one column") { r in r = r.map { String($0.split(separator: ",")[0]) } }
        csvCase("binary junk") { r in r[5] = "\u{1}\u{2}\u{3}" }
        return cases
    }
}

/// The fixed-seed sample of `make test`; `make fuzz` passes NNTRAIN_FUZZ_SEED and repeats
/// the random kinds NNTRAIN_FUZZ_DATA_ROUNDS times.
let dataCorpus: [DataCorpus.Case] = {
    let seed = UInt64(Runtime.environment("NNTRAIN_FUZZ_SEED") ?? "") ?? 7
    let rounds = Int(Runtime.environment("NNTRAIN_FUZZ_DATA_ROUNDS") ?? "") ?? 1
    return (0..<rounds).flatMap { (try? DataCorpus.generate(seed: seed &+ UInt64($0))) ?? [] }
}()

func dataConfig(images: String, labels: String, csv: String?) throws -> ExperimentConfig {
    let source = csv.map { #"{"format": "csv", "path": "\#($0)", "label_column": 0}"# }
        ?? #"{"format": "idx", "images": "\#(images)", "labels": "\#(labels)"}"#
    let input = csv == nil ? "[1, 28, 28]" : "[784]"
    let text = """
    {"name": "corpus", "threads": 1,
     "data": {"train": \(source), "validation_split": 0},
     "model": {"input": \(input), "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}}
    """
    return try ExperimentConfig.read(try JSONValue.parse(text), baseDirectory: "/")
}

@Test func theDataCorpusIsLarge() { #expect(dataCorpus.count >= 100) }

@Test(arguments: dataCorpus.indices)
func corruptDataIsADataErrorNamingTheFile(index: Int) throws {
    let c = dataCorpus[index]
    let dir = scratchDirectory("data-corpus-\(index)")
    try FileIO.makeDirectories(dir)
    var images = DataCorpus.imagesPath, labels = DataCorpus.labelsPath, csv: String? = nil
    var expectedFile = images
    if let b = c.images { images = dir + "/images.idx"; try FileIO.writeAtomically(images, b); expectedFile = images }
    if let b = c.labels { labels = dir + "/labels.idx"; try FileIO.writeAtomically(labels, b); expectedFile = labels }
    if let t = c.csv { csv = dir + "/data.csv"; try FileIO.writeAtomically(csv!, text: t); expectedFile = csv! }
    let config = try dataConfig(images: images, labels: labels, csv: csv)
    guard let e = loadAndCheck(config) else { Issue.record("\(c): accepted"); return }
    guard case .data(let d) = e else { Issue.record("\(c): not a data error: \(e)"); return }
    #expect(e.exitCode == 3)
    #expect(d.file == expectedFile || d.message.contains(expectedFile), "\(c): names \(d.file): \(d.message)")
    #expect(!d.message.isEmpty)
    // A byte order mark and CRLF line ends change nothing: the same error, the same line number.
    if let t = c.csv, c.kind.hasSuffix("(BOM, CRLF)") {
        let plain = dir + "/plain.csv"
        try FileIO.writeAtomically(plain, text: String(t.dropFirst()).split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n"))
        guard case .data(let p)? = loadAndCheck(try dataConfig(images: images, labels: labels, csv: plain)) else {
            Issue.record("\(c): the LF version is not a data error"); return
        }
        #expect(p.message == d.message, "\(c): LF says \(p.message), BOM+CRLF says \(d.message)")
    }
}

/// The error loading `config`'s data and checking it against the model raise, if any.
func loadAndCheck(_ config: ExperimentConfig) -> RunError? {
    do {
        let (train, _, _) = try Experiment.loadData(config)
        try Experiment.checkCompatibility(config, plan: ModelPlan(config: config), data: train.dataset)
        return nil
    } catch {
        return error
    }
}

@Test func skipBatchKeepsTrainingThroughANaN() throws {
    // One row with a feature near Float.greatestFiniteMagnitude overflows the logits to ±inf.
    var rng = Xoshiro256(seed: 3, streamID: 1)
    var lines: [String] = []
    for i in 0..<200 {
        let a = rng.uniform(-1, 1), b = rng.uniform(-1, 1)
        lines.append("\(a + b > 0 ? 1 : 0),\(i == 17 ? "3e38" : "\(a)"),\(b)")
    }
    let path = try writeTemp("nan.csv", lines.joined(separator: "\n"))
    func config(_ onNaN: String) throws -> ExperimentConfig {
        try ExperimentConfig.read(try JSONValue.parse("""
        {"name": "nan", "threads": 1, "seed": 2,
         "data": {"train": {"format": "csv", "path": "\(path)", "header": false}, "validation_split": 0},
         "model": {"input": [2], "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 2}]},
         "optimizer": {"type": "sgd", "lr": 0.1}, "training": {"epochs": 3, "batch_size": 20, "shuffle": false, "on_nan": "\(onNaN)"}}
        """), baseDirectory: "/")
    }
    var options = Experiment.Options()
    options.outputDirectory = scratchDirectory("nan-skip")
    let result = try Experiment.run(try config("skip_batch"), options: options)
    #expect(result.outcome.stopReason == .completed)
    #expect(result.outcome.skippedBatches == 3)  // the batch with row 17, once per epoch
    #expect(result.outcome.lastCurve?.loss.isFinite == true)
    options.outputDirectory = scratchDirectory("nan-stop")
    #expect(throws: RunError.self) { _ = try Experiment.run(try config("stop"), options: options) }
}
