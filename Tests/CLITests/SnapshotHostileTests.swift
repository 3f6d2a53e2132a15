import Foundation
import NNCore
import Testing

// Hostile snapshots directories and snapshot files: what predict, average and report make of
// files that a run did not write the way it writes them.

/// A finished three-epoch run with a snapshot of every epoch.
private func snapshotRun(_ name: String) throws -> String {
    let dir = tempDir(name)
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet",
                         "--set", "training.epochs=3", "--set", #"training.snapshots={"every": 1}"#])
    #expect(r.status == 0, "\(r.stderr)")
    return dir
}

/// `predict --snapshots all --json`'s member names.
private func members(_ dir: String) throws -> [String] {
    let r = try nntrain(["predict", dir, "--snapshots", "all", "--out", tempDir("hostile-pred") + ".csv", "--json"], timeout: 60)
    #expect(r.status == 0, "\(r.stderr)")
    guard case .array(let m)? = try JSONValue.parse(r.stdout)["members"] else { return [] }
    return m.compactMap { $0["run"]?.stringValue }
}

@Test func aNonCanonicalSnapshotNameIsNotASecondSnapshot() throws {
    let dir = try snapshotRun("hostile-name")
    // A copy under another spelling of the same epoch would be ensembled (and averaged) twice.
    try FileManager.default.copyItem(atPath: dir + "/snapshots/epoch-001.safetensors", toPath: dir + "/snapshots/epoch-0001.safetensors")
    #expect(try members(dir) == [1, 2, 3].map { "\(dir) (epoch \($0))" })
}

@Test func aFIFONamedLikeASnapshotDoesNotHang() throws {
    let dir = try snapshotRun("hostile-fifo")
    #expect(mkfifo(dir + "/snapshots/epoch-004.safetensors", 0o644) == 0)
    // Listing the snapshots opened it, and waited for a writer for ever.
    #expect(try members(dir).count == 3)
}

@Test func averageOfNonFiniteWeightsExits4() throws {
    let dir = try snapshotRun("hostile-nan")
    // Epoch 2's weights made NaN, its checksum dropped (a file without one still loads).
    let path = dir + "/snapshots/epoch-002.safetensors"
    let f = try Safetensors.read(path, limit: 1 << 30)
    let entries = f.entries.map { e in e.dtype.isFloatingPoint ? Safetensors.Entry(name: e.name, shape: e.shape, values: e.values.map { _ in .nan }) : e }
    try FileIO.writeAtomically(path, Safetensors.encode(entries, metadata: f.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
    let out = tempDir("hostile-nan-swa")
    let r = try nntrain(["average", dir, "--out", out])
    #expect(r.status == 4, "\(r.status) \(r.stdout) \(r.stderr)")
    #expect(r.stderr.contains("not finite"))
    #expect(!FileIO.exists(out + "/model.safetensors"))
}

@Test func reportSaysWhyATestSetWithNonFiniteOutputsHasNoFigures() throws {
    let dir = try snapshotRun("hostile-report")
    // The run's weights made NaN (no checksum): eval exits 4; the page must say why no table.
    let path = dir + "/model.safetensors"
    let f = try Safetensors.read(path, limit: 1 << 30)
    let entries = f.entries.map { e in e.dtype.isFloatingPoint ? Safetensors.Entry(name: e.name, shape: e.shape, values: e.values.map { _ in .nan }) : e }
    try FileIO.writeAtomically(path, Safetensors.encode(entries, metadata: f.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
    let html = tempDir("hostile-report-page") + ".html"
    let r = try nntrain(["report", dir, "--out", html])
    #expect(r.status == 0, "\(r.stderr)")
    let page = try read(html)
    #expect(page.contains("Test set: per-class figures") && page.contains("not finite"))
}
