import NNCore
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
