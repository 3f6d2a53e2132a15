import NNCore

/// `{"type": "conv2d", "out_channels": 32, "kernel_size": 3}`: a 2-D convolution (`Conv2D`)
/// on an image input `[C, H, W]`, output `[out, H', W']` with
/// H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1; `padding` nil means "same" (p = d(k − 1)/2, stride 1,
/// an odd k). Parameters: out·C·kh·kw + out (bias) + out (weight-norm gains).
public struct Conv2DSpec: LayerKind {
    public var outChannels: Int
    public var kernel: [Int], stride: [Int]
    public var padding: [Int]?
    public var dilation: [Int]
    public var activation: Activation
    public var bias: Bool
    public var weightNorm: Bool
    public var layerOptions: LayerOptions

    public init(outChannels: Int, kernel: [Int], stride: [Int] = [1, 1], padding: [Int]? = nil, dilation: [Int] = [1, 1],
                activation: Activation = .linear, bias: Bool = true, weightNorm: Bool = false, options: LayerOptions = LayerOptions()) {
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.activation = activation
        self.bias = bias
        self.weightNorm = weightNorm
        layerOptions = options
    }

    public static let typeNames = ["conv2d"]

    public static func read(_ r: ObjectReader, type: String) -> Conv2DSpec {
        let out = r.int("out_channels", default: 1, check: .closed(1, 65536))
        if !r.has("out_channels") { r.diagnostics.error(r.childPath("out_channels"), "missing required key (expected integer >= 1)") }
        let k = r.sizePair("kernel_size", 3, min: 1)
        let s = r.sizePair("stride", 1, min: 1)
        var padding: [Int]? = nil
        if case .string? = r.raw("padding") {
            _ = r.choice("padding", ["same", "valid"], default: "same")
            if r.raw("padding") == .string("valid") { padding = [0, 0] }
        } else if r.has("padding") {
            padding = r.sizePair("padding", 0, min: 0)
        } else {
            r.record("padding", .string("same"))
        }
        let d = r.sizePair("dilation", 1, min: 1)
        let act = Activation.read(r, "activation", default: .linear)
        let bias = r.bool("bias", default: true)
        let wn = r.bool("weight_norm", default: false)
        return Conv2DSpec(outChannels: out, kernel: k, stride: s, padding: padding, dilation: d, activation: act, bias: bias,
                          weightNorm: wn, options: LayerOptions.read(r, hasBias: bias))
    }

    public var options: LayerOptions? { layerOptions }
    public var linearity: Linearity { .linearMap(then: activation) }
    public var outputActivation: OutputActivation { .fused(activation) }

    /// The padding as numbers ("same": d(k − 1)/2 each side).
    var resolvedPadding: [Int] { padding ?? [dilation[0] * (kernel[0] - 1) / 2, dilation[1] * (kernel[1] - 1) / 2] }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        let (k, s, d, out) = (kernel, stride, dilation, outChannels)
        guard model.needImage(shape, "conv2d", at: site) else { return nil }
        if padding == nil && (s[0] != 1 || s[1] != 1) {
            model.errors.append(ConfigError(path: site.path + ".padding", message: "\"same\" padding needs stride 1, got stride \(s); give the padding as a number"))
            return nil
        }
        let p = resolvedPadding
        if padding == nil && ((d[0] * (k[0] - 1)) % 2 != 0 || (d[1] * (k[1] - 1)) % 2 != 0) {
            model.errors.append(ConfigError(path: site.path + ".padding", message: "\"same\" padding needs an odd kernel size, got \(k); give the padding as a number"))
            return nil
        }
        let h = Conv2D.outputSize(shape[1], k[0], s[0], p[0], d[0]), w = Conv2D.outputSize(shape[2], k[1], s[1], p[1], d[1])
        guard h >= 1 && w >= 1 else {
            model.errors.append(ConfigError(path: site.path, message: "kernel \(k) (dilation \(d)) does not fit the input \(shape) with padding \(p): the output would be \(h)×\(w)"))
            return nil
        }
        let params = out * shape[0] * k[0] * k[1] + (bias ? out : 0) + (weightNorm ? out : 0)
        let desc = "conv2d \(shape[0])→\(out) \(k[0])×\(k[1])" + (s != [1, 1] ? " /\(s[0])" : "") + (activation == .linear ? "" : ", \(activation)")
            + (weightNorm ? ", weight norm" : "")
        model.warnIfSymmetric(layerOptions, at: site)
        return LayerPlan(output: [out, h, w], parameters: params, description: desc)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        let p = resolvedPadding
        return Conv2D(name: site.name, inputShape: shape, outChannels: outChannels, kernel: (kernel[0], kernel[1]),
                      stride: (stride[0], stride[1]), padding: (p[0], p[1]), dilation: (dilation[0], dilation[1]),
                      activation: activation, useBias: bias, initialization: layerOptions.initialization ?? site.defaultInit,
                      biasInit: layerOptions.biasInit, weightNorm: weightNorm, rng: &rng)
    }
}

/// 2-D convolution (torch.nn.Conv2d, cross-correlation, NCHW): weight `[out, in, kh, kw]`,
/// bias `[out]`, stride s, zero padding p, dilation d, and an activation f:
/// y[n, o, i, j] = f(b[o] + Σ_{c, u, v} W[o, c, u, v]·x[n, c, i·s − p + u·d, j·s − p + v·d])
/// (0 outside the input), H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 (`ConvolutionShape.referenceForward`
/// is this definition, for the tests).
///
/// The layer holds the parameters and their initialisation, weight normalisation and the buffers;
/// `ConvolutionEngine` (NNCore) computes the pass on the fastest path for the shape (im2col and
/// chunked products, the direct kernel, Winograd), with ReLU or no activation fused into its
/// output pass and any other f applied to each chunk there.
/// Followed by 2×2/2 max pooling (and with ReLU or no activation), the layer pools for it while
/// the chunks are in cache (`canFuse`, `fusion`): the full-size output never reaches memory, and
/// the pooling layer passes the pooled tensor and its gradient through (`Model.build`).
public final class Conv2D: Layer {
    public let name: String
    public let inChannels: Int, outChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    public let activation: Activation
    public let weight: Parameter
    public let bias: Parameter?
    public let gain: Parameter?
    public let outputShape: Shape
    let inH: Int, inW: Int, outH: Int, outW: Int
    /// The fast paths: chosen from the shape, with their scratch.
    let engine: ConvolutionEngine
    private var norm: WeightNorm?
    private var output: BatchBuffer!
    private var preActivation: BatchBuffer?
    private var inputGrad: BatchBuffer!
    private var maxBatch = 0
    /// Whether this layer pools for the max pooling after it (`Model.build`; off for a pass that
    /// observes every output).
    public var fusion = FusionState() {
        didSet { if fusion.doesNext != nil && pooledOutput == nil && maxBatch > 0 { allocatePooling() } }
    }
    /// Whether the last forward pooled (its output is then the pooled one).
    private(set) var lastFused = false
    private var pooledOutput: BatchBuffer?
    private var lastInput: Tensor?
    private var lastOutput: Tensor?

    public init(name: String, inputShape: [Int], outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), activation: Activation = .linear,
                useBias: Bool = true, initialization: InitSpec, biasInit: Float = 0, weightNorm: Bool = false,
                rng: inout Xoshiro256) {
        self.name = name
        inChannels = inputShape[0]
        inH = inputShape[1]
        inW = inputShape[2]
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.activation = activation
        let shape = ConvolutionShape(channels: inChannels, height: inH, width: inW, outChannels: outChannels, kernel: kernel,
                                     stride: stride, padding: padding, dilation: dilation)
        outH = shape.outHeight
        outW = shape.outWidth
        outputShape = Shape([outChannels, outH, outW])
        let epilogue: ConvolutionEpilogue
        switch activation {
        case .linear: epilogue = .linear
        case .relu: epilogue = .relu
        default: epilogue = .elementwise(ChunkActivation(f: activation))
        }
        engine = ConvolutionEngine(shape: shape, epilogue: epilogue)
        let fanIn = inputShape[0] * kernel.0 * kernel.1
        let w = Tensor(zeros: [outChannels, inputShape[0], kernel.0, kernel.1])
        initialization.fill(w, fanIn: fanIn, fanOut: outChannels * kernel.0 * kernel.1, activation: activation, rng: &rng)
        if weightNorm {
            weight = Parameter(name: name + ".weight_v", value: w, decays: true, rows: outChannels)
            gain = Parameter(name: name + ".weight_g", value: WeightNorm.initialGains(w, rows: outChannels, shape: [outChannels, 1, 1, 1]),
                             decays: false)
            norm = WeightNorm(rows: outChannels, cols: fanIn)
        } else {
            weight = Parameter(name: name + ".weight", value: w, decays: true, rows: outChannels)
            gain = nil
        }
        if useBias {
            let b = Tensor(zeros: [outChannels])
            b.fill(biasInit)
            bias = Parameter(name: name + ".bias", value: b, decays: false)
        } else {
            bias = nil
        }
    }

    /// The pooling a convolution can do for the layer after it: 2×2/2 max pooling of its output,
    /// after ReLU or no activation (max commutes with both).
    public func canFuse(_ work: Fusion) -> Bool { work == .maxPool2x2 && engine.canPool }

    public static func outputSize(_ n: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int {
        ConvolutionShape.outputSize(n, k, s, p, d)
    }

    public var parameters: [Parameter] { [gain, weight, bias].compactMap { $0 } }
    /// W as the pass uses it (with weight norm: g·v/‖v‖, composed by forward).
    var weightMatrix: UnsafeMutablePointer<Float> { norm?.effective.pointer ?? weight.value.pointer }

    public func allocate(maxBatch: Int) {
        self.maxBatch = maxBatch
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample([inChannels, inH, inW]), maxBatch: maxBatch)
        engine.allocate(maxBatch: maxBatch)
        if activation.needsInput { preActivation = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch) }
        pooledOutput = nil
        if fusion.doesNext != nil { allocatePooling() }
    }

    private func allocatePooling() {
        pooledOutput = BatchBuffer(sampleShape: .sample([outChannels, outH / 2, outW / 2]), maxBatch: maxBatch)
        engine.allocatePooling(maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        lastFused = fusion.doesNext != nil
        let y = lastFused ? pooledOutput!.view(batch: batch) : output.view(batch: batch)
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        engine.forward(input.pointer, batch: batch, weight: weightMatrix, bias: bias.map { UnsafePointer($0.value.pointer) },
                       output: y.pointer, preActivation: preActivation?.view(batch: batch).pointer, pooled: lastFused)
        lastInput = input
        lastOutput = y
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let x = lastInput, let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let batch = x.shape[0]
        let dx = needsInputGradient ? inputGrad.view(batch: batch) : nil
        let dw = weight.grad.pointer
        engine.backward(x.pointer, batch: batch, weight: weightMatrix, output: y.pointer, outputGrad: outputGrad.pointer,
                        preActivation: preActivation.map { UnsafePointer($0.view(batch: batch).pointer) }, inputGrad: dx?.pointer,
                        weightGrad: dw, biasGrad: bias?.grad.pointer, pooled: lastFused)
        if let gain, let norm { norm.backward(v: weight.value.pointer, g: gain.value.pointer, dv: dw, dg: gain.grad.pointer) }
        return dx
    }
}

/// An activation other than ReLU and none, which the convolution engine applies to each chunk of
/// output (`ConvolutionEpilogue.elementwise`).
struct ChunkActivation: ElementwiseActivation {
    let f: Activation

    func apply(_ y: UnsafeMutablePointer<Float>, count: Int) { ActivationKernels.apply(f, y, y, count: count) }

    func backward(pre: UnsafePointer<Float>?, output y: UnsafePointer<Float>, grad dz: UnsafeMutablePointer<Float>, count: Int) {
        ActivationKernels.backward(f, x: pre, y: y, dy: dz, dx: dz, count: count)
    }
}

extension Conv2D {
    /// Conv (pads, strides, dilations as the layer has them; one group) with W — weight norm
    /// folded in — and b, then the activation. A max pooling fused into this layer's pass is
    /// the pooling layer's own node.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        if let gain { norm?.compose(v: weight.value.pointer, g: gain.value.pointer) }
        let count = outChannels * inChannels * kernel.0 * kernel.1
        let w = Array(UnsafeBufferPointer(start: weightMatrix, count: count))
        var inputs = [input, graph.constant(name + ".weight", dims: [outChannels, inChannels, kernel.0, kernel.1], w)]
        if let bias { inputs.append(graph.constant(bias.name, dims: [outChannels], bias.value.scalars)) }
        let y = graph.add("Conv", inputs, name: name, attributes: [
            ("kernel_shape", .ints([kernel.0, kernel.1])), ("pads", .ints([padding.0, padding.1, padding.0, padding.1])),
            ("strides", .ints([stride.0, stride.1])), ("dilations", .ints([dilation.0, dilation.1])), ("group", .int(1)),
        ])
        return activation.onnx(y, name: name, in: graph)
    }

    /// `torch.nn.Conv2d` (padding, stride, dilation as the layer has them) and the fused
    /// activation; with weight norm a `Tensors` module and `F.conv2d` on g·v/‖v‖.
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let p = TorchCode.pair
        let geometry = "\(p(stride)), \(p(padding)), \(p(dilation))"
        guard gain != nil else {
            let m = "torch.nn.Conv2d(\(inChannels), \(outChannels), \(p(kernel)), stride=\(p(stride)), padding=\(p(padding)), "
                + "dilation=\(p(dilation)), bias=\(bias == nil ? "False" : "True"))"
            return TorchCode(module: m, forward: ["x = " + activation.torch("\(module)(x)")])
        }
        let shapes = "weight_v=(\(outChannels), \(inChannels), \(kernel.0), \(kernel.1)), weight_g=(\(outChannels), 1, 1, 1)"
            + (bias == nil ? "" : ", bias=(\(outChannels),)")
        let y = "F.conv2d(x, weight_norm(\(module).weight_v, \(module).weight_g), \(bias == nil ? "None" : module + ".bias"), \(geometry))"
        return TorchCode(module: "Tensors(\(shapes))", forward: ["x = " + activation.torch(y)], helpers: [.tensors, .weightNorm])
    }
}
