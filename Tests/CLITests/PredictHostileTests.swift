import Foundation
import NNCore
import Testing

// `nntrain predict` and `eval` on runs and data that were tampered with.

/// A short quickstart run, copied to `name`, its model.safetensors rewritten by `edit`
/// (without the checksum, as a hand-edited file would be).
private func editedRun(_ name: String, _ edit: (inout [Safetensors.Entry]) -> Void) throws -> String {
    let dir = tempDir(name)
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=1"])
    #expect(r.status == 0, "\(r.stderr)")
    let file = try Safetensors.read(dir + "/model.safetensors", limit: 1 << 30)
    var entries = file.entries
    edit(&entries)
    let meta = file.metadata.filter { $0.key != "crc32" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    try Data(Safetensors.encode(entries, metadata: meta)).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
    return dir
}

@Test func predictRefusesNonFiniteOutputs() throws {
    let dir = try editedRun("hostile-nan") { e in
        let i = e.firstIndex { $0.name == "layers.3.bias" }!
        var v = e[i].values; v[0] = .nan
        e[i] = Safetensors.Entry(name: e[i].name, shape: e[i].shape, values: v)
    }
    #expect(try nntrain(["eval", dir]).status == 4)
    let r = try nntrain(["predict", dir, "--out", dir + "/p.csv"])
    #expect(r.status == 4 && r.stderr.contains("not finite"), "\(r.stderr)")
}

@Test func predictRefusesAConfigEditedAfterTheRun() throws {
    let dir = try editedRun("hostile-config") { _ in }
    #expect(try nntrain(["predict", dir, "--out", dir + "/p.csv"]).status == 0)
    var config = try read(dir + "/config.json")
    config = config.replacingOccurrences(of: "\"relu\"", with: "\"tanh\"")
    try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
    let r = try nntrain(["predict", dir, "--out", dir + "/p.csv"])
    #expect(r.status == 3 && r.stderr.contains("model.layers.1 differs"), "\(r.stderr)")
}

@Test func anOutOfRangeLabelNamesTheGivenData() throws {
    let dir = try editedRun("hostile-label") { _ in }
    let images = dir + "/img-idx3-ubyte", labels = dir + "/lab.idx"
    try Data([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28] + [UInt8](repeating: 7, count: 784)).write(to: URL(fileURLWithPath: images))
    try Data([0, 0, 8, 1, 0, 0, 0, 1, 12]).write(to: URL(fileURLWithPath: labels))
    let r = try nntrain(["eval", dir, "--data", #"{"format": "idx", "images": "\#(images)", "labels": "\#(labels)"}"#])
    #expect(r.status == 3 && r.stderr.contains(images) && !r.stderr.contains("train-labels"), "\(r.stderr)")
}
