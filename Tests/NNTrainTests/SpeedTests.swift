import CSupport
import NNCore
import NNTestSupport
import Testing
@testable import NNTrain

// The speed work's invariants (speed itself is measured by `make bench`, not here).

/// `nntrain bench`'s step: every product is traced (3 forward, 3 weight gradients, 2 input
/// gradients — none for the first layer) and the phases add up to the step.
@Test func stepBenchmarkTracesTheStepsProductsAndSkipsTheFirstInputGradient() throws {
    let config = try readConfig("""
    {"name": "b", "seed": 1, "data": {"train": {"format": "idx", "images": "data/fashion-mnist-subset/train-images-idx3-ubyte.gz",
                                                "labels": "data/fashion-mnist-subset/train-labels-idx1-ubyte.gz"}},
     "model": {"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "dense", "units": 32, "activation": "relu"},
               {"type": "dropout", "rate": 0.1}, {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 10}]},
     "optimizer": {"type": "adam", "lr": 0.001}, "training": {"epochs": 1, "batch_size": 50}}
    """)
    let r = StepBenchmark.run(config, threads: 1, steps: 3, warmup: 1)
    #expect(r.gemmCalls == 8 && r.products.count == 8)
    #expect(r.products.map { "\($0.call.m)x\($0.call.n)x\($0.call.k)" }.prefix(3) == ["50x32x784", "50x16x32", "50x10x16"])
    #expect(!r.products.contains { $0.call.m == 50 && $0.call.n == 784 })   // no dx for the input layer
    #expect(r.step > 0 && r.gemm > 0 && r.samplesPerSecond > 0 && r.gemmLimit > 0)
    #expect(r.json["fraction_of_gemm_limit"]?.doubleValue != nil)
}

/// Dropout masks come from a counter-based stream: the same whether the worker pool splits the
/// layer or not, and a fresh mask every step.
@Test func dropoutMaskDoesNotDependOnThePoolSplit() {
    func masks(threads: Int) -> [[Float]] {
        Parallel.setThreads(threads)
        defer { Parallel.setThreads(1) }
        let d = Dropout(name: "d", rate: 0.3, inputShape: [5000], rng: Xoshiro256(seed: 7, stream: .dropout))
        d.allocate(maxBatch: 16)
        let x = Tensor(shape: [16, 5000], scalars: [Float](repeating: 1, count: 80_000))
        return (0..<2).map { _ in d.forward(x, mode: .training).scalars }
    }
    let one = masks(threads: 1), two = masks(threads: 2)
    #expect(one == two)
    #expect(one[0] != one[1])
    let kept = one[0].filter { $0 != 0 }.count
    #expect(abs(Double(kept) / 80_000 - 0.7) < 0.01)
    #expect(one[0].allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
}

/// A convolution split over the pool by sample blocks, in chunks of a few samples each, gives
/// the single-threaded forward bit for bit and the same gradients (dW summed per block, so its
/// last bits may differ), and matches the direct definition.
@Test func convolutionSplitOverThePoolMatchesOneThread() {
    func run(threads: Int, chunk: Int) -> (y: [Float], dx: [Float], dw: [Float], db: [Float]) {
        Parallel.setThreads(max(threads, Parallel.threads))   // the blocks run in parallel when the pool is free
        let conv = makeConv([3, 9, 9], out: 5, k: (3, 3), p: (1, 1), act: .relu)
        conv.allocate(maxBatch: 7)
        conv.engine.chunkSamples = chunk
        conv.engine.blockCount = threads
        let x = randomTensor([7, 3, 9, 9], seed: 11)
        let y = conv.forward(x, mode: .training)
        let yv = y.scalars
        let dy = randomTensor([7, 5, 9, 9], seed: 12)
        let dx = conv.backward(dy, needsInputGradient: true)!.scalars
        return (yv, dx, conv.weight.grad.scalars, conv.bias!.grad.scalars)
    }
    let one = run(threads: 1, chunk: 7), two = run(threads: 2, chunk: 2), three = run(threads: 3, chunk: 1)
    for other in [two, three] {
        #expect(other.y == one.y)
        #expect(zip(other.dx, one.dx).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        #expect(zip(other.dw, one.dw).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
        #expect(zip(other.db, one.db).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
    }
    let conv = makeConv([3, 9, 9], out: 5, k: (3, 3), p: (1, 1), act: .relu)
    let direct = naiveConv(conv, randomTensor([7, 3, 9, 9], seed: 11).scalars, batch: 7).map { max($0, 0) }
    #expect(zip(three.y, direct).allSatisfy { abs($0 - $1) <= 1e-4 })
}

/// The dense layers' bias/ReLU pass and the batch fill run in C (compiled for AVX-512 where the CPU
/// has it) and give the Swift formulas' bits: row + bias, max(·, 0) with Swift's NaN and −0
/// rules, Float(byte) · scale + shift.
@Test func rowPassesInCGiveTheSwiftFormulasBits() {
    let rows = 5, cols = 37
    var values = randomTensor([rows * cols], seed: 41, low: -3, high: 3).scalars
    values[3] = .nan; values[4] = -0.0; values[5] = 0; values[6] = -.infinity; values[7] = .infinity
    let bias = randomTensor([cols], seed: 42).scalars
    for (withBias, relu) in [(true, true), (true, false), (false, true)] {
        var c = values
        c.withUnsafeMutableBufferPointer { y in
            bias.withUnsafeBufferPointer { b in nn_bias_activate(y.baseAddress!, withBias ? b.baseAddress! : nil, rows, cols, relu ? 1 : 0) }
        }
        let expected = values.enumerated().map { i, v -> Float in
            let z = withBias ? v + bias[i % cols] : v
            return relu ? max(z, 0) : z
        }
        #expect(zip(c, expected).allSatisfy { $0.bitPattern == $1.bitPattern }, "bias \(withBias) relu \(relu)")
    }
    let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37) }
    let scale = randomTensor([1000], seed: 43).scalars, shift = randomTensor([1000], seed: 44).scalars
    var out = [Float](repeating: 0, count: 1000)
    nn_bytes_affine(bytes, scale, shift, &out, 1000)
    #expect((0..<1000).allSatisfy { out[$0].bitPattern == (Float(bytes[$0]) * scale[$0] + shift[$0]).bitPattern })
}

/// The batch fill's loop (`ByteRowsAffine`) gathers each row through the index and gives the
/// formula's bits, Float(byte) · scale + shift, however the pool splits the rows.
@Test func byteRowsSplitOverThePoolGiveTheFormulasBits() {
    let rows = 37, f = 29, examples = 50
    let bytes = (0..<(examples * f)).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 7) }
    let idx = (0..<rows).map { Int32(($0 * 13) % examples) }
    let scale = randomTensor([f], seed: 45).scalars, shift = randomTensor([f], seed: 46).scalars
    let expected = (0..<(rows * f)).map { i in Float(bytes[Int(idx[i / f]) * f + i % f]) * scale[i % f] + shift[i % f] }
    for threads in [1, 2, 3] {
        Parallel.setThreads(max(threads, Parallel.threads))   // the rows run in parallel when the pool is free
        var out = [Float](repeating: .nan, count: rows * f)
        bytes.withUnsafeBufferPointer { src in
            idx.withUnsafeBufferPointer { ip in
                scale.withUnsafeBufferPointer { a in
                    shift.withUnsafeBufferPointer { b in
                        out.withUnsafeMutableBufferPointer { o in
                            Parallel.forEach(rows, minimum: threads == 1 ? rows + 1 : 2, align: 1,
                                             ByteRowsAffine(src: src.baseAddress!, idx: ip.baseAddress!, out: o.baseAddress!,
                                                            a: a.baseAddress!, b: b.baseAddress!, features: f))
                        }
                    }
                }
            }
        }
        #expect(zip(out, expected).allSatisfy { $0.bitPattern == $1.bitPattern }, "threads \(threads)")
    }
}
