#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NNCore
@testable import NNTrain
import Testing

/// Data files are untrusted: a header is checked before memory is committed to what it
/// promises, sizes are multiplied with overflow checks, and text is read as people write it.

/// Writes `bytes` and extends the file (sparse, no disk used) to `size` bytes.
private func sparseFile(_ name: String, _ bytes: [UInt8], size: Int) throws -> String {
    let path = try writeTemp(name, "")
    try FileIO.writeAtomically(path, bytes)
    #expect(truncate(path, off_t(size)) == 0)
    return path
}

private func dataError(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch let e as DataError { return e.description } catch { return "not a DataError: \(error)" }
}

@Test(arguments: [[4, 1 << 31, 1 << 31], [0x7FFF_FFFF, 0x7FFF_FFFF, 0x7FFF_FFFF], [1 << 30, 1 << 30]])
func idxDimensionsThatOverflowOrExceedTheLimitAreADataError(dims: [Int]) throws {
    // The product wraps to 0 (or passes the old 2^34 check) on the first shape.
    let path = try writeTemp("big.idx", "")
    try FileIO.writeAtomically(path, idxBytes(dims: dims, payload: [1, 2, 3]))
    let message = dataError { _ = try IDX.read(path) }
    #expect(message?.contains("promise more than") == true, "\(message ?? "accepted")")
}

@Test func aHugeSparseIDXIsRefusedFromItsHeaderWithoutReadingIt() throws {
    // 9 GB of (sparse) data after a header that promises 7,840 bytes.
    let path = try sparseFile("sparse.idx", idxBytes(dims: [10, 28, 28], payload: []), size: 9 << 30)
    let start = Clock.now()
    let message = dataError { _ = try IDX.read(path) }
    #expect(message?.contains("bytes after the 7840 bytes the header [10, 28, 28] describes") == true, "\(message ?? "accepted")")
    // A header that promises the whole 9 GB: more than the data memory limit.
    let honest = try sparseFile("honest.idx", idxBytes(dims: [(9 << 30) / 784, 28, 28], payload: []), size: 16 + (9 << 30) / 784 * 784)
    let second = dataError { _ = try IDX.read(honest) }
    #expect(second?.contains("promise more than") == true, "\(second ?? "accepted")")
    #expect(Clock.now() - start < 2, "the checks read the file")
    unlink(path); unlink(honest)
}

@Test func gzipWithTrailingZeroPaddingLoadsAndJunkAfterItDoesNot() throws {
    let gz = try FileIO.read(repositoryRoot + "data/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz")
    let padded = try writeTemp("padded.gz", "")
    try FileIO.writeAtomically(padded, gz + [UInt8](repeating: 0, count: 300_000))
    #expect(try IDX.read(padded).dims == [500])
    let junk = try writeTemp("junk.gz", "")
    try FileIO.writeAtomically(junk, gz + [0, 0, 0, 7])
    #expect(dataError { _ = try IDX.read(junk) }?.contains("gzip data is corrupt") == true)
    // A gzip member cut short is truncated, whatever the header promised.
    let cut = try writeTemp("cut.gz", "")
    try FileIO.writeAtomically(cut, Array(gz.prefix(gz.count - 20)))
    #expect(dataError { _ = try IDX.read(cut) } != nil)
}

@Test func csvWithCRLFLineEndingsAndAByteOrderMark() throws {
    for (name, text) in [("crlf.csv", "x1,x2,label\r\n0.5,1,2\r\n-1,2e-1,0\r\n\r\n3,4,1\r\n"),
                         ("bom.csv", "\u{FEFF}x1,x2,label\n0.5,1,2\n-1,2e-1,0\n3,4,1\n"),
                         ("cr.csv", "\u{FEFF}x1,x2,label\r0.5,1,2\r-1,2e-1,0\r3,4,1")] {
        let path = try writeTemp(name, text)
        let d = try Dataset.load(.csv(path: path, labelColumn: -1, header: nil, delimiter: 44), task: .classification)
        #expect(d.count == 3 && d.featureCount == 2 && d.targets == [2, 0, 1], "\(name)")
        #expect(d.value(1, 1) == 0.2, "\(name)")
    }
    // Without a header, the BOM must not make the first number unreadable.
    let path = try writeTemp("bom-plain.csv", "\u{FEFF}1,0.5\r\n0,0.25\r\n")
    let d = try Dataset.load(.csv(path: path, labelColumn: 0, header: false, delimiter: 44), task: .classification)
    #expect(d.count == 2 && d.targets == [1, 0])
}

@Test func cifarOfTheWrongSizeIsRefusedBeforeItIsRead() throws {
    let path = try sparseFile("cifar.bin", [], size: 9 << 30)
    let start = Clock.now()
    let message = dataError { _ = try Dataset.load(.cifar10(files: [path]), task: .classification) }
    #expect(message?.contains("not a whole number of 3073-byte CIFAR-10 records") == true, "\(message ?? "accepted")")
    #expect(Clock.now() - start < 2)
    unlink(path)
}
