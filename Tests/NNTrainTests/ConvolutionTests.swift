import CSupport
import NNCore
import NNTestSupport
@testable import NNTrain
import Testing

func makeConv(_ inShape: [Int], out: Int, k: (Int, Int), s: (Int, Int) = (1, 1), p: (Int, Int) = (0, 0),
              d: (Int, Int) = (1, 1), act: Activation = .linear, weightNorm: Bool = false) -> Conv2D {
    var rng = Xoshiro256(seed: 5, stream: .initialization)
    return Conv2D(name: "conv", inputShape: inShape, outChannels: out, kernel: k, stride: s, padding: p, dilation: d,
                  activation: act, initialization: .xavierUniform(gain: 1), weightNorm: weightNorm, rng: &rng)
}

/// The direct definition (`ConvolutionShape.referenceForward`): y[o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v]·x[c, i·s − p + u·d, j·s − p + v·d].
func naiveConv(_ conv: Conv2D, _ x: [Float], batch: Int) -> [Float] {
    conv.engine.shape.referenceForward(x, weight: conv.weight.value.scalars, bias: conv.bias?.value.scalars, batch: batch)
}

@Test(arguments: [((1, 1), (0, 0), (1, 1)), ((2, 2), (1, 1), (1, 1)), ((1, 2), (2, 0), (2, 1)), ((3, 1), (1, 2), (1, 2))])
func convMatchesTheDirectDefinition(stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)) {
    let conv = makeConv([3, 7, 6], out: 4, k: (3, 2), s: stride, p: padding, d: dilation)
    _ = ParameterStore(conv.parameters)
    var rng = Xoshiro256(seed: 2, streamID: 9)
    for i in 0..<conv.bias!.value.count { conv.bias!.value.pointer[i] = rng.uniform(-1, 1) }
    conv.allocate(maxBatch: 2)
    let x = randomTensor([2, 3, 7, 6], seed: 4)
    let y = conv.forward(x, mode: .training)
    let expected = naiveConv(conv, x.scalars, batch: 2)
    #expect(y.count == expected.count)
    for (a, b) in zip(y.scalars, expected) { #expect(abs(a - b) < 1e-4) }
}

@Test(arguments: [((1, 1), (1, 1), (1, 1)), ((2, 2), (0, 1), (1, 1)), ((1, 1), (2, 2), (2, 2))])
func convMatchesFiniteDifferences(stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)) {
    let conv = makeConv([2, 5, 5], out: 3, k: (3, 3), s: stride, p: padding, d: dilation, act: .tanh)
    let report = checkGradients(of: conv, input: randomTensor([2, 2, 5, 5], seed: 3))
    #expect(report.worstError < 1e-3, "\(report)")
}

/// The activations fused into the output pass (ReLU, none) and one that keeps its input (ELU),
/// through the stride-1 C path (padding, dilation) and the strided Swift path.
@Test(arguments: [(Activation.relu, (1, 1), (1, 1)), (.linear, (1, 1), (2, 2)), (.elu(alpha: 1), (1, 1), (1, 1)),
                  (.relu, (2, 2), (1, 1))])
func convActivationsMatchFiniteDifferences(activation: Activation, stride: (Int, Int), dilation: (Int, Int)) {
    let conv = makeConv([2, 6, 5], out: 3, k: (3, 3), s: stride, p: (1, 2), d: dilation, act: activation)
    let report = checkGradients(of: conv, input: randomTensor([3, 2, 6, 5], seed: 8), h: 2e-3)
    #expect(report.worstError < 1e-3, "\(report)")
    #expect(report.skipped <= report.checked / 10)
}

@Test func weightNormConvMatchesFiniteDifferences() {
    let conv = makeConv([2, 4, 4], out: 3, k: (3, 3), p: (1, 1), weightNorm: true)
    #expect(conv.parameters.map(\.name) == ["conv.weight_g", "conv.weight_v", "conv.bias"])
    let report = checkGradients(of: conv, input: randomTensor([2, 2, 4, 4], seed: 1))
    #expect(report.worstError < 1e-3, "\(report)")
}

@Test(arguments: [(Pool2D.Kind.max, (2, 2), (2, 2)), (.average, (2, 2), (2, 2)), (.max, (3, 3), (2, 2)), (.average, (3, 2), (1, 2))])
func poolingMatchesFiniteDifferences(kind: Pool2D.Kind, kernel: (Int, Int), stride: (Int, Int)) {
    let pool = Pool2D(name: "pool", kind: kind, inputShape: [2, 6, 5], kernel: kernel, stride: stride)
    let report = checkGradients(of: pool, input: randomTensor([2, 2, 6, 5], seed: 7))
    #expect(report.worstError < 1e-3, "\(report)")
    #expect(report.skipped <= report.checked / 10)
}

@Test func maxPoolPicksTheMaximumOfEachWindow() {
    let pool = Pool2D(name: "pool", kind: .max, inputShape: [1, 2, 4], kernel: (2, 2), stride: (2, 2))
    pool.allocate(maxBatch: 1)
    let y = pool.forward(Tensor(shape: [1, 1, 2, 4], scalars: [1, 5, -1, 0, 3, 2, 7, -2]), mode: .training)
    #expect(y.scalars == [5, 7])
    let dx = pool.backward(Tensor(shape: [1, 1, 1, 2], scalars: [10, 20]), needsInputGradient: true)!
    #expect(dx.scalars == [0, 10, 0, 0, 0, 0, 20, 0])
}

/// Ties and NaN as PyTorch's max_pool2d: the first of equal values wins, a NaN wins; the 2×2/2
/// kernel (odd height and width: the last row and column get no gradient) and the general loop.
@Test(arguments: [((2, 2), (2, 2)), ((2, 2), (1, 2))])
func maxPoolTiesAndNaNFollowPyTorch(kernel: (Int, Int), stride: (Int, Int)) {
    let nan = Float.nan
    // Windows of the first row pair: [0 0; 0 0], [1 3; 3 2], [1 nan; 3 2]; an extra row and column.
    let x: [Float] = [0, 0, 1, 3, 1, nan, 9,
                      0, 0, 3, 2, 3, 2, 9,
                      9, 9, 9, 9, 9, 9, 9]
    let pool = Pool2D(name: "pool", kind: .max, inputShape: [1, 3, 7], kernel: kernel, stride: stride)
    pool.allocate(maxBatch: 1)
    let y = pool.forward(Tensor(shape: [1, 1, 3, 7], scalars: x), mode: .training).scalars
    #expect(y[0] == 0 && y[1] == 3 && y[2].isNaN)
    let g = (0..<pool.outputShape.count).map { Float($0 + 1) }
    let dx = pool.backward(Tensor(shape: [1] + pool.outputShape.dims, scalars: g), needsInputGradient: true)!.scalars
    #expect(dx[0] == g[0] && dx[1] == 0 && dx[7] == 0 && dx[8] == 0)   // tie of four zeros: the first
    #expect(dx[3] == g[1] && dx[9] == 0)                                // 3 in row 0 before 3 in row 1
    #expect(dx[5] == g[2])                                              // the NaN
    if stride == (2, 2) { #expect(dx[6] == 0 && dx[13] == 0 && dx[14..<21].allSatisfy { $0 == 0 }) }
}

@Test func globalAveragePoolingMatchesFiniteDifferences() {
    let report = checkGradients(of: GlobalAvgPool(name: "gap", inputShape: [3, 4, 2]), input: randomTensor([2, 3, 4, 2], seed: 2))
    #expect(report.worstError < 1e-3, "\(report)")
}

@Test func residualWithAStridedConvProjectionMatchesFiniteDifferences() {
    var rng = Xoshiro256(seed: 3, stream: .initialization)
    let block = Residual(name: "r", inputShape: [2, 4, 4], inner: [
        Conv2D(name: "r.layers.0", inputShape: [2, 4, 4], outChannels: 3, kernel: (3, 3), stride: (2, 2), padding: (1, 1),
               activation: .tanh, initialization: .xavierUniform(gain: 1), rng: &rng),
    ], projection: Conv2D(name: "r.projection", inputShape: [2, 4, 4], outChannels: 3, kernel: (1, 1), stride: (2, 2),
                          useBias: false, initialization: .xavierUniform(gain: 1), rng: &rng))
    #expect(block.outputShape == Shape(3, 2, 2))
    let report = checkGradients(of: block, input: randomTensor([2, 2, 4, 4], seed: 5))
    #expect(report.worstError < 1e-3, "\(report)")
}

/// A conv+BN+ReLU+pool stack as a layer, so the norm fixtures' runner can drive it.
final class Stack: Layer {
    let name = "stack"
    let layers: [any Layer]
    init(_ layers: [any Layer]) { self.layers = layers }
    var parameters: [Parameter] { layers.flatMap(\.parameters) }
    var buffers: [(String, Tensor)] { layers.flatMap(\.buffers) }
    var outputShape: Shape { layers.last!.outputShape }
    func allocate(maxBatch: Int) { for l in layers { l.allocate(maxBatch: maxBatch) } }
    func forward(_ input: Tensor, mode: Mode) -> Tensor { layers.reduce(input) { $1.forward($0, mode: mode) } }
    func backward(_ g: Tensor, needsInputGradient: Bool) -> Tensor? {
        var d: Tensor? = g
        for l in layers.reversed() { d = d.flatMap { l.backward($0, needsInputGradient: true) } }
        return d
    }
}

@Test func convBatchNormPoolStackMatchesTorch() throws {
    let ref = try loadTorchReference()["norms"]!["conv_bn_pool"]!
    var rng = Xoshiro256(seed: 0, stream: .initialization)
    // torch names 0.weight, 0.bias (conv) and 1.weight, 1.bias (batch norm): name ours "0" and "1".
    let conv = Conv2D(name: "0", inputShape: [2, 6, 6], outChannels: 3, kernel: (3, 3), padding: (1, 1), initialization: .zeros, rng: &rng)
    let bn = BatchNorm(name: "1", inputShape: [3, 6, 6])
    let stack = Stack([conv, bn, ActivationLayer(name: "2", activation: .relu, inputShape: [3, 6, 6]),
                       Pool2D(name: "3", kind: .max, inputShape: [3, 6, 6], kernel: (2, 2), stride: (2, 2))])
    _ = ParameterStore(stack.parameters)
    for p in stack.parameters { p.value.copy(from: Tensor(shape: p.value.shape.dims, scalars: floats(ref["params"]![p.name]))) }
    var r = ref
    // checkAgainstTorch looks parameters and buffers up by their last name component; give it full names.
    func renamed(_ o: JSONValue?) -> JSONValue { .object((o?.objectValue ?? []).map { ($0.0.replacing(".", with: "_"), $0.1) }) }
    r = .object([("params", renamed(ref["params"])), ("buffers", renamed(ref["buffers"])), ("eval", ref["eval"]!),
                 ("steps", .array((ref["steps"]?.arrayValue ?? []).map { s in
                     .object([("x", s["x"]!), ("upstream", s["upstream"]!), ("y", s["y"]!), ("dx", s["dx"]!), ("grads", renamed(s["grads"]))])
                 }))])
    checkAgainstTorch(stack, r, inputShape: [2, 6, 6], tolerance: 5e-5)
}

/// A convolution that pools for the max pooling after it (`Model.build` fuses them) gives the
/// same output and the same gradients, bit for bit, as the two layers apart: odd sizes (the last
/// row and column get no gradient), two row pairs per vector (at most 8 windows a row, an odd
/// number of pairs), more than 16 windows a row, ties, ReLU and no activation;
/// and the AVX-512 kernels (where the CPU has them) give the same bits as the portable loops.
@Test(arguments: [([2, 9, 7], Activation.relu), ([2, 11, 7], .relu), ([1, 6, 16], .linear), ([1, 4, 35], .linear), ([2, 8, 34], .relu)])
func convPoolFusionMatchesConvThenPool(shape: [Int], activation: Activation) {
    defer { nn_set_conv_simd_level(-1) }
    func run(fused: Bool, level: Int32) -> [[Float]] {
        nn_set_conv_simd_level(level)
        let conv = makeConv(shape, out: 3, k: (3, 3), p: (1, 1), act: activation)
        _ = ParameterStore(conv.parameters)
        var rng = Xoshiro256(seed: 2, streamID: 9)
        for i in 0..<conv.bias!.value.count { conv.bias!.value.pointer[i] = rng.uniform(-0.5, 0.5) }
        let pool = Pool2D(name: "pool", kind: .max, inputShape: conv.outputShape.dims, kernel: (2, 2), stride: (2, 2))
        #expect(pool.fusibleWork.map(conv.canFuse) == true)
        if fused { conv.fusion.doesNext = .maxPool2x2; pool.fusion.doneByPrevious = .maxPool2x2 }
        conv.allocate(maxBatch: 3)
        pool.allocate(maxBatch: 3)
        let x = randomTensor([3] + shape, seed: 21)
        // Ties: a constant first sample gives equal outputs inside each window away from the border.
        for i in 0..<shape.reduce(1, *) { x.pointer[i] = 0.25 }
        let y = pool.forward(conv.forward(x, mode: .training), mode: .training).scalars
        #expect(conv.lastFused == fused)
        let g = randomTensor([3] + pool.outputShape.dims, seed: 22)
        let dx = conv.backward(pool.backward(g, needsInputGradient: true)!, needsInputGradient: true)!.scalars
        return [y, dx, conv.weight.grad.scalars, conv.bias!.grad.scalars]
    }
    let apart = run(fused: false, level: 1)
    let levels: [Int32] = nn_simd_level() == 3 ? [1, 3] : [1]
    for level in levels {
        for fused in [false, true] where level != 1 || fused {
            let other = run(fused: fused, level: level)
            for (name, (a, b)) in zip(["y", "dx", "dW", "db"], zip(other, apart)) {
                #expect(a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) },
                        "\(name) differs: fused \(fused), SIMD level \(level)")
            }
        }
    }
}

/// The model fuses a convolution with the max pooling after it, and diagnostics (which observe
/// every layer's output) see the full-size convolution output all the same.
@Test func modelFusesConvolutionAndPoolingButObservesWholeOutputs() throws {
    let config = try readConfig("""
    {"name": "f", "seed": 1, "data": {"train": {"format": "idx", "images": "data/fashion-mnist-subset/train-images-idx3-ubyte.gz",
                                                "labels": "data/fashion-mnist-subset/train-labels-idx1-ubyte.gz"}},
     "model": {"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "activation": "relu"},
               {"type": "max_pool2d", "kernel_size": 2}, {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "activation": "tanh"},
               {"type": "max_pool2d", "kernel_size": 2}, {"type": "flatten"}, {"type": "dense", "units": 10}]},
     "optimizer": {"type": "adam", "lr": 0.001}, "training": {"epochs": 1, "batch_size": 4}}
    """)
    let model = Model(config: config.model, seed: 1)
    let convs = model.layers.compactMap { $0 as? Conv2D }
    #expect(convs.map(\.fusion.doesNext) == [.maxPool2x2, nil])   // tanh does not commute with max
    model.allocate(maxBatch: 2)
    let x = randomTensor([2, 1, 8, 8], seed: 3)
    let plain = model.forward(x, mode: .evaluation).scalars
    var shapes: [[Int]] = []
    let observed = model.forward(x, mode: .evaluation) { _, y in shapes.append(y.shape.dims) }.scalars
    #expect(shapes[0] == [2, 2, 8, 8] && shapes[1] == [2, 2, 4, 4])
    #expect(observed == plain)
    #expect(convs[0].fusion.doesNext == .maxPool2x2)
}

/// One training pass of a ReLU convolution over 5 samples (biases random, `configure` choosing
/// the path before the buffers are sized): [y, dx, dW, db].
func convPass(_ shape: [Int], out: Int, padding: (Int, Int), dilation: (Int, Int) = (1, 1), blocks: Int, chunk: Int,
              configure: (Conv2D) -> Void) -> [[Float]] {
    let conv = makeConv(shape, out: out, k: (3, 3), p: padding, d: dilation, act: .relu)
    _ = ParameterStore(conv.parameters)
    var rng = Xoshiro256(seed: 2, streamID: 9)
    for i in 0..<conv.bias!.value.count { conv.bias!.value.pointer[i] = rng.uniform(-0.5, 0.5) }
    configure(conv)
    conv.engine.blockCount = blocks
    conv.allocate(maxBatch: 5)
    conv.engine.chunkSamples = chunk
    let x = randomTensor([5] + shape, seed: 31)
    let y = conv.forward(x, mode: .training).scalars
    let g = randomTensor([5] + conv.outputShape.dims, seed: 32)
    let dx = conv.backward(g, needsInputGradient: true)!.scalars
    return [y, dx, conv.weight.grad.scalars, conv.bias!.grad.scalars]
}

/// The chunk products on nntrain's own kernel (where the CPU has AVX-512) and on sgemm give the
/// same forward and gradients up to rounding: chunks of several samples, two sample blocks, 64
/// output channels (the kernel's 4-vector panels), dW on sgemm (patch < 32) and on the kernel as
/// dWᵀ (its layout) summed over blocks and turned back, other paddings and dilations.
@Test(arguments: [([4, 10, 9], 64, 2, (1, 1), (1, 1)), ([3, 7, 6], 5, 1, (1, 1), (1, 1)), ([8, 6, 6], 16, 2, (1, 1), (1, 1)),
                  ([4, 9, 8], 16, 1, (2, 1), (2, 1)), ([5, 7, 7], 20, 2, (0, 0), (1, 1))])
func convOnTheDirectKernelMatchesSgemm(shape: [Int], out: Int, blocks: Int, padding: (Int, Int), dilation: (Int, Int)) {
    func run(direct: Bool) -> [[Float]] {
        convPass(shape, out: out, padding: padding, dilation: dilation, blocks: blocks, chunk: 2) { conv in
            conv.engine.directGEMM = direct
            conv.engine.winogradAllowed = false
        }
    }
    let sgemm = run(direct: false), direct = run(direct: true)
    for (name, (a, b)) in zip(["y", "dx", "dW", "db"], zip(direct, sgemm)) {
        let scale = b.map { abs($0) }.max() ?? 1
        #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, scale) }, "\(name) differs")
    }
}

/// Winograd F(2×2, 3×3) (where the CPU has the direct kernel) against the im2col path: forward,
/// dx, dW and db agree up to rounding for even and odd output sizes (partial tiles), paddings 0–2
/// (different per axis), channel counts that are not multiples of 16, one and several samples per
/// chunk and one or two sample blocks; and the path is taken only for 3×3, stride 1, undilated
/// kernels with ≥ 8 input channels.
@Test(arguments: [([8, 6, 6], 16, 2, (1, 1), 2), ([9, 7, 5], 20, 1, (1, 1), 3), ([16, 9, 8], 64, 2, (0, 0), 1),
                  ([12, 5, 7], 7, 2, (2, 1), 2), ([32, 14, 14], 64, 1, (1, 1), 1), ([8, 4, 4], 3, 1, (0, 2), 5)])
func winogradConvMatchesIm2col(shape: [Int], out: Int, blocks: Int, padding: (Int, Int), chunk: Int) {
    guard DirectGEMM.isAvailable else { return }
    func run(winograd: Bool) -> [[Float]] {
        convPass(shape, out: out, padding: padding, blocks: blocks, chunk: chunk) { conv in
            conv.engine.winogradAllowed = winograd
            #expect(conv.engine.winograd == winograd)
        }
    }
    let im2col = run(winograd: false), wino = run(winograd: true)
    for (name, (a, b)) in zip(["y", "dx", "dW", "db"], zip(wino, im2col)) {
        let scale = b.map { abs($0) }.max() ?? 1
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(a.count == b.count && worst <= 2e-5 * max(1, scale), "\(name) differs by \(worst) (scale \(scale))")
    }
    for (k, st, d, c) in [((3, 3), (2, 2), (1, 1), 8), ((3, 3), (1, 1), (2, 2), 8), ((3, 2), (1, 1), (1, 1), 8), ((3, 3), (1, 1), (1, 1), 7)] {
        #expect(!makeConv([c, 6, 6], out: 4, k: k, s: st, d: d).engine.winograd)
    }
}

/// The Winograd path's gradients are those of its forward function (finite differences), with
/// padding on one axis only and an odd output width, and with weight normalisation (the filter
/// transform of g·v/‖v‖, dW back through it).
@Test(arguments: [false, true])
func winogradConvMatchesFiniteDifferences(weightNorm: Bool) {
    guard DirectGEMM.isAvailable else { return }
    let conv = makeConv([8, 5, 6], out: 3, k: (3, 3), p: (1, 0), act: .tanh, weightNorm: weightNorm)
    #expect(conv.engine.winograd)
    let report = checkGradients(of: conv, input: randomTensor([2, 8, 5, 6], seed: 3))
    #expect(report.worstError < 1e-3, "\(report)")
}

/// The engine's gradients against the direct definition's (`ConvolutionShape.referenceBackward`):
/// dx, dW and db through the strided Swift im2col, the stride-1 C path with padding and
/// dilation, and a 3×3 kernel with 8 input channels (Winograd where the CPU runs the direct kernel).
@Test(arguments: [([3, 7, 6], (3, 2), (2, 1), (1, 1), (1, 1)), ([3, 7, 6], (3, 3), (1, 1), (2, 1), (1, 2)),
                  ([8, 6, 5], (3, 3), (1, 1), (1, 1), (1, 1))])
func convGradientsMatchTheDirectDefinition(shape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                                           dilation: (Int, Int)) {
    let conv = makeConv(shape, out: 4, k: kernel, s: stride, p: padding, d: dilation)
    _ = ParameterStore(conv.parameters)
    conv.allocate(maxBatch: 3)
    let x = randomTensor([3] + shape, seed: 6)
    _ = conv.forward(x, mode: .training)
    let dy = randomTensor([3] + conv.outputShape.dims, seed: 7)
    let upstream = dy.scalars   // backward may overwrite dy
    let dx = conv.backward(dy, needsInputGradient: true)!.scalars
    let ref = conv.engine.shape.referenceBackward(x.scalars, weight: conv.weight.value.scalars, outputGrad: upstream, batch: 3)
    let ours = [dx, conv.weight.grad.scalars, conv.bias!.grad.scalars]
    for (name, (a, b)) in zip(["dx", "dW", "db"], zip(ours, [ref.dx, ref.dW, ref.db])) {
        #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }, "\(name) differs")
    }
}

/// The model fuses what the layers say they can do together (`fusibleWork`, `canFuse`): a ReLU
/// convolution and the 2×2/2 max pooling after it, but not average pooling, a 3×3 max pooling or
/// an ELU convolution; the pooling layer is told by value that its input arrives pooled.
@Test func modelFusesOnlyWhatTheLayersCanDoTogether() throws {
    let config = try readConfig("""
    {"name": "f", "seed": 1, "data": {"train": {"format": "idx", "images": "data/fashion-mnist-subset/train-images-idx3-ubyte.gz",
                                                "labels": "data/fashion-mnist-subset/train-labels-idx1-ubyte.gz"}},
     "model": {"input": [1, 28, 28], "layers": [
               {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1, "activation": "relu"},
               {"type": "avg_pool2d", "kernel_size": 2},
               {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1, "activation": "relu"},
               {"type": "max_pool2d", "kernel_size": 3, "stride": 2},
               {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1, "activation": "elu"},
               {"type": "max_pool2d", "kernel_size": 2},
               {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
               {"type": "max_pool2d", "kernel_size": 2}, {"type": "flatten"}, {"type": "dense", "units": 10}]},
     "optimizer": {"type": "adam", "lr": 0.001}, "training": {"epochs": 1, "batch_size": 4}}
    """)
    let model = Model(config: config.model, seed: 1)
    #expect(model.layers.map(\.fusion.doesNext) == [nil, nil, nil, nil, nil, nil, .maxPool2x2, nil, nil, nil])
    #expect(model.layers.map(\.fusion.doneByPrevious) == [nil, nil, nil, nil, nil, nil, nil, .maxPool2x2, nil, nil])
    #expect(model.layers.map(\.fusibleWork) == [nil, nil, nil, nil, nil, .maxPool2x2, nil, .maxPool2x2, nil, nil])
}
