import NNCore

/// The CIFAR-10 binary format (https://www.cs.toronto.edu/~kriz/cifar.html): each record is
/// one label byte (0–9) and 3,072 pixel bytes — the red, green and blue 32×32 planes, row-major —
/// so a sample is `[3, 32, 32]` NCHW with no reordering. Several files (`data_batch_1.bin` …)
/// are concatenated in the order given.
public enum CIFAR10 {
    public static let recordSize = 1 + 3 * 32 * 32

    public static func load(_ files: [String], task: Task) throws(DataError) -> Dataset {
        var pixels: [UInt8] = []
        var labels: [Float] = []
        for path in files {
            let bytes: [UInt8]
            do throws(FileError) {
                // The size is checked before anything is read: a file that is not whole records,
                // or more than the data memory limit, costs no memory.
                let file = try InputFile(path)
                if let size = file.regularSize, size % recordSize != 0 {
                    throw FileError(path: path, reason: "is \(size) bytes, not a whole number of \(recordSize)-byte CIFAR-10 records (truncated or not CIFAR-10 binary)")
                }
                bytes = try file.readToEnd(limit: DataLimits.maxBytes - pixels.count)
            } catch {
                throw DataError(file: path, error.reason)
            }
            guard !bytes.isEmpty else { throw DataError(file: path, "is empty") }
            guard bytes.count % recordSize == 0 else {
                throw DataError(file: path, "is \(bytes.count) bytes, not a whole number of \(recordSize)-byte CIFAR-10 records (truncated or not CIFAR-10 binary)")
            }
            let n = bytes.count / recordSize
            pixels.reserveCapacity(pixels.count + n * (recordSize - 1))
            for i in 0..<n {
                let label = bytes[i * recordSize]
                guard label < 10 else { throw DataError(file: path, "record \(i) has label \(label), outside 0...9 (is this CIFAR-100?)") }
                labels.append(Float(label))
                pixels.append(contentsOf: bytes[(i * recordSize + 1)..<((i + 1) * recordSize)])
            }
        }
        return Dataset(storage: .bytes(pixels), storedScale: 1 / 255, count: labels.count, sampleShape: [3, 32, 32],
                       targets: labels, classCount: task == .classification ? Int(labels.max() ?? 0) + 1 : nil,
                       origin: files.first ?? "cifar10")
    }
}
