import NNCore

/// `nntrain bench CONFIG`: the time of one training step of a config's model and optimizer on
/// random inputs, by phase, and its GEMM-bound limit — the step's matrix products replayed
/// alone on the step's own matrices — so a benchmark can say how close training comes to the
/// cost of its GEMMs.
public enum StepBenchmark {
    public struct Result: Sendable {
        public var batch: Int
        public var threads: Int
        public var steps: Int
        /// Median seconds per phase over the timed steps.
        public var forward: Double, loss: Double, backward: Double, optimizer: Double
        public var step: Double { forward + loss + backward + optimizer }
        /// Seconds per step of the step's products alone, and their count and size.
        public var gemm: Double
        public var gemmCalls: Int
        public var gemmMultiplyAdds: Int
        /// Each product of the step with its own replayed time.
        public var products: [(call: GEMMTrace.Call, seconds: Double)] = []
        public var samplesPerSecond: Double { Double(batch) / step }
        public var gemmLimit: Double { Double(batch) / gemm }

        public var json: JSONValue {
            func ms(_ s: Double) -> JSONValue { .number((s * 1e6).rounded() / 1e3) }
            return .object([
                ("batch", .number(Double(batch))), ("threads", .number(Double(threads))), ("steps", .number(Double(steps))),
                ("forward_ms", ms(forward)), ("loss_ms", ms(loss)), ("backward_ms", ms(backward)),
                ("optimizer_ms", ms(optimizer)), ("step_ms", ms(step)), ("gemm_ms", ms(gemm)),
                ("gemm_calls", .number(Double(gemmCalls))), ("gemm_gflops", .number((2 * Double(gemmMultiplyAdds) / gemm / 1e7).rounded() / 100)),
                ("samples_per_second", .number(samplesPerSecond.rounded())), ("gemm_limit_samples_per_second", .number(gemmLimit.rounded())),
                ("fraction_of_gemm_limit", .number((samplesPerSecond / gemmLimit * 1000).rounded() / 1000)),
            ])
        }
    }

    /// `verbose` also times each product alone (`Result.products`).
    public static func run(_ config: ExperimentConfig, threads: Int, steps: Int, warmup: Int = 5, verbose: Bool = true) -> Result {
        setBLASThreads(threads)
        Runtime.flushDenormals()
        let model = Model(config: config.model, seed: config.seed, penalizeAll: config.regularization.penalizeBiases)
        let batch = config.training.batchSize
        model.allocate(maxBatch: batch)
        let loss = config.loss.makeLoss(task: config.data.task)
        let optimizer = config.optimizer.makeOptimizer(parameterCount: model.store.count)
        let input = BatchBuffer(sampleShape: Shape([1] + model.inputShape), maxBatch: batch)
        let outputs = model.outputShape.reduce(1, *)
        let classification = config.data.task == .classification
        let targets = TensorStorage(capacity: batch * (classification ? 1 : outputs))
        let outputGrad = BatchBuffer(sampleShape: Shape([1] + model.outputShape), maxBatch: batch)
        var rng = Xoshiro256(seed: config.seed, stream: .sampling)
        let x = input.view(batch: batch)
        for i in 0..<x.count { x.pointer[i] = rng.uniform(-1, 1) }
        for i in 0..<targets.capacity { targets.base[i] = classification ? Float(rng.below(outputs)) : rng.uniform(-1, 1) }
        let dy = outputGrad.view(batch: batch)
        var phases: [[Double]] = [[], [], [], []]
        func step(timed: Bool) {
            let t0 = Clock.now()
            let y = model.forward(x, mode: .training)
            let t1 = Clock.now()
            _ = loss.evaluate(y, targets: targets.base, gradient: dy)
            let t2 = Clock.now()
            model.backward(dy)
            let t3 = Clock.now()
            optimizer.step(model.store, lr: 1e-4, transform: GradientTransform(l2: config.regularization.l2))
            let t4 = Clock.now()
            if timed {
                phases[0].append(t1 - t0); phases[1].append(t2 - t1); phases[2].append(t3 - t2); phases[3].append(t4 - t3)
            }
        }
        for _ in 0..<warmup { step(timed: false) }
        let calls = GEMMTrace.record { step(timed: false) }
        // Steps and replays of the step's products alternate, so that both medians come from the
        // same minutes of a machine whose speed drifts. The replays run on the step's own matrices
        // (the model's weights, activations and gradients), which must outlive them. A replay
        // leaves those matrices in cache, so an untimed step comes between it and the next timed
        // one: each timed step follows a step, as in training.
        let replayer = GEMMTrace.Replayer(calls)
        replayer.run()
        var replays: [Double] = []
        var products: [(call: GEMMTrace.Call, seconds: Double)] = []
        withExtendedLifetime((model, input, outputGrad)) {
            for _ in 0..<steps {
                step(timed: false)
                step(timed: true)
                replays.append(replayer.run())
            }
            if verbose { products = calls.map { ($0, GEMMTrace.replay([$0], repeats: max(3, steps / 2))) } }
        }
        func median(_ a: [Double]) -> Double { let s = a.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
        return Result(batch: batch, threads: Parallel.threads, steps: steps, forward: median(phases[0]), loss: median(phases[1]),
                      backward: median(phases[2]), optimizer: median(phases[3]), gemm: median(replays), gemmCalls: calls.count,
                      gemmMultiplyAdds: calls.reduce(0) { $0 + $1.multiplyAdds }, products: products)
    }
}
