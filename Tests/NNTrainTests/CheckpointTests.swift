import Foundation
import NNCore
import Testing

@testable import NNTrain

// Checkpoints and safetensors read back (issue 17, items 6–8): a checksum over header and
// data, header-first reads, and every saved state field checked.

/// A small checkpoint built in memory (no training needed).
func sampleCheckpoint() -> Checkpoint {
    var state = TrainerState()
    state.epochsDone = 1; state.globalStep = 4; state.epochSeen = 10; state.epochCorrect = 7
    state.epochLossSum = 3.25; state.epochWeight = 10; state.lastLR = 0.01; state.best = 0.5; state.bestEpoch = 1
    return Checkpoint(state: state, parameters: [1, -2, 3.5], optimizerStep: 4, optimizerBuffers: ["exp_avg": [0, 0.5, 1]],
                      bestParameters: [1, 2, 3], order: [2, 0, 1], randomStates: ["shuffle": [1, 2, 3, 4], "augmentation": [5, 6, 7, 8]],
                      threads: 1, config: .object([("training", .object([("epochs", .number(3))]))]))
}

@Test func safetensorsChecksumCatchesEveryBitOfHeaderAndData() throws {
    let bytes = Safetensors.encode([Safetensors.Entry(name: "w", shape: [2, 2], values: [1, 2, 3, 4]),
                                    Safetensors.Entry(name: "order", int32s: [3, 1])],
                                   metadata: [("state", #"{"epochs_done":1}"#)], checksum: true)
    #expect(try Safetensors.decodeFile(bytes).checksumMatches == true)
    #expect(try Safetensors.decodeFile(Safetensors.encode([Safetensors.Entry(name: "w", shape: [1], values: [1])])).checksumMatches == nil)
    // Every single-bit flip anywhere in the file is refused, reported as a mismatch, or (the
    // checksum key itself renamed) leaves a file without a checksum, which a checkpoint refuses.
    var accepted: [Int] = []
    for i in 0..<bytes.count {
        for bit in 0..<8 {
            var b = bytes
            b[i] ^= UInt8(1) << UInt8(bit)
            if let f = try? Safetensors.decodeFile(b), f.checksumMatches == true { accepted.append(i * 8 + bit) }
        }
    }
    #expect(accepted.isEmpty, "bit flips accepted: \(accepted.prefix(10))")
}

@Test func safetensorsTensorsMustBeBackToBackWithNothingAfter() throws {
    let header = Array(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#.utf8)
    let gap = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + [UInt8](repeating: 0, count: 8)
    #expect(throws: Safetensors.FormatError.self) { _ = try Safetensors.decode(gap) }
    let trailing = Safetensors.encode([Safetensors.Entry(name: "a", shape: [1], values: [1])]) + [0, 0, 0, 0]
    do { _ = try Safetensors.decode(trailing); Issue.record("trailing bytes accepted") } catch {
        #expect(error.message == "has 4 bytes after its last tensor (the header describes 4 bytes of data, the file holds 8)")
    }
}

@Test func safetensorsReadRefusesAHeaderThatPromisesMoreThanTheLimitBeforeReading() throws {
    let path = scratchPath("limit.safetensors")
    defer { unlink(path) }
    let bytes = Safetensors.encode([Safetensors.Entry(name: "a", shape: [1000], values: [Float](repeating: 1, count: 1000))])
    try FileIO.writeAtomically(path, bytes)
    #expect(try Safetensors.read(path, limit: 4000).entries.first?.values.count == 1000)
    do { _ = try Safetensors.read(path, limit: 3999); Issue.record("limit ignored") } catch let e as Safetensors.FormatError {
        #expect(e.message == "its tensors take 4000 bytes, more than the 3999-byte memory limit (NNTRAIN_MAX_MEMORY_GB)")
    }
    // Through a pipe (no size to check first): the same tensors, and truncation is caught.
    let fifo = scratchPath("limit.fifo")
    unlink(fifo)
    #expect(mkfifo(fifo, 0o600) == 0)
    defer { unlink(fifo) }
    let writer = Thread { if let h = FileHandle(forWritingAtPath: fifo) { h.write(Data(bytes.dropLast(8))); h.closeFile() } }
    writer.start()
    do { _ = try Safetensors.read(fifo, limit: 1 << 20); Issue.record("truncated pipe accepted") } catch let e as Safetensors.FormatError {
        #expect(e.message == "file ends after 3992 of the 4000 bytes of tensor data its header describes")
    }
}

@Test func checkpointRoundTripsWithAChecksumAndRefusesAnEditedFile() throws {
    let dir = scratchDirectory("ckpt-roundtrip")
    let c = sampleCheckpoint()
    try c.write(to: dir)
    let back = try #require(try Checkpoint.read(from: dir))
    #expect(back.state == c.state && back.parameters == c.parameters && back.order == c.order)
    #expect(back.randomStates == c.randomStates && back.bestParameters == c.bestParameters && back.optimizerStep == 4)
    #expect(back.file == Checkpoint.path(in: dir))
    var bytes = try FileIO.read(Checkpoint.path(in: dir))
    bytes[bytes.count - 3] ^= 0x04
    try FileIO.writeAtomically(Checkpoint.path(in: dir), bytes)
    do { _ = try Checkpoint.read(from: dir); Issue.record("edited checkpoint accepted") } catch {
        #expect(error.description == "\(Checkpoint.path(in: dir)): is not a usable checkpoint: its checksum does not match its contents: the file was damaged or edited after it was written")
    }
}

/// Each bad state field with the exact message `TrainerState(checkpoint:)` gives.
@Test(arguments: [
    (#"{"epochs_done": -5, "step_in_epoch": 0, "global_step": 0}"#, "state.epochs_done: expected a whole number in 0...9007199254740992, got -5"),
    (#"{"epochs_done": 1e300, "step_in_epoch": 0, "global_step": 0}"#, "state.epochs_done: expected a whole number in 0...9007199254740992, got 1e+300"),
    (#"{"epochs_done": 1, "step_in_epoch": 0.5, "global_step": 0}"#, "state.step_in_epoch: expected a whole number in 0...9007199254740992, got 0.5"),
    (#"{"epochs_done": 1, "global_step": 0}"#, "state.step_in_epoch is missing"),
    (#"{"epochs_done": 1, "step_in_epoch": 0, "global_step": 0, "epoch_loss_sum": "7ff8000000000000"}"#, "state.epoch_loss_sum is nan, expected a finite number"),
    (#"{"epochs_done": 1, "step_in_epoch": 0, "global_step": 0, "best_val_accuracy": "4000000000000000"}"#, "state.best_val_accuracy is 2.0, expected a finite number in 0.0...1.0"),
    (#"{"epochs_done": 1, "step_in_epoch": 0, "global_step": 0, "last_lr": "7f800000"}"#, "state.last_lr: expected the hex bit pattern of a finite learning rate >= 0, got \"7f800000\""),
    (#"{"epochs_done": 1, "step_in_epoch": 0, "global_step": 0, "plateau": {"scale": "7fefffffffffffff"}}"#, "state.plateau.scale is 1.7976931348623157e+308, expected a finite number in 0.0...1.0"),
    (#"{"epochs_done": 1, "step_in_epoch": 0, "global_step": 0, "last_curve": {"epoch": -1}}"#, "state.last_curve.epoch: expected a whole number in 0...9007199254740992, got -1"),
    (#"{"epochs_done": 1, "step_in_epoch": 0, "global_step": 0, "train_seconds": -3}"#, "state.train_seconds: expected a number of seconds >= 0, got -3"),
    (#"[1]"#, "state: expected an object, got array of 1"),
])
func corruptCheckpointStateFieldsAreNamed(json: String, message: String) throws {
    let parsed = try JSONValue.parse(json)
    do { _ = try TrainerState(checkpoint: parsed); Issue.record("accepted \(json)") } catch {
        #expect(error.message == message)
    }
}

@Test func checkpointRandomStatesMustNotBeAllZero() throws {
    let dir = scratchDirectory("ckpt-zero-rng")
    var c = sampleCheckpoint()
    c.randomStates["shuffle"] = [0, 0, 0, 0]
    try c.write(to: dir)
    do { _ = try Checkpoint.read(from: dir); Issue.record("all-zero random state accepted") } catch {
        #expect(error.message == "is not a usable checkpoint: random state rng.shuffle is all zero")
    }
}
