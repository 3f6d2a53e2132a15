import NNCore

/// `{"type": "activation", "activation": "relu"}`, or the shorthand `{"type": "relu"}` (with the
/// activation's own keys beside it: `{"type": "leaky_relu", "alpha": 0.1}`): y = f(x) element
/// by element (`ActivationLayer`), any input shape. No parameters.
public struct ActivationSpec: LayerKind {
    public var activation: Activation

    public init(_ activation: Activation) { self.activation = activation }

    public static let typeNames = ["activation"]
    public static let aliases = Activation.names.filter { $0 != "linear" }
    public static let isActivationFunction = true

    public static func read(_ r: ObjectReader, type: String) -> ActivationSpec {
        type == "activation" ? ActivationSpec(Activation.read(r, "activation", default: .relu)) : ActivationSpec(Activation.make(type, r))
    }

    public var typeName: String { activation.description }
    public var linearity: Linearity { activation == .linear ? .linear : .nonlinear }
    public var outputActivation: OutputActivation { activation == .linear ? .none : .layer(activation.name) }
    public var isReLU: Bool { activation == .relu }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: shape, description: typeName)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        ActivationLayer(name: site.name, activation: activation, inputShape: shape)
    }
}

/// A standalone element-wise activation (`{"type": "relu"}`), for use after layers that do
/// not fuse one.
public final class ActivationLayer: Layer {
    public let name: String
    public let activation: Activation
    public let outputShape: Shape
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var lastOutput: Tensor?
    private var lastInput: Tensor?

    public init(name: String, activation: Activation, inputShape: [Int]) {
        self.name = name
        self.activation = activation
        outputShape = Shape(inputShape)
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let y = output.view(batch: input.shape[0])
        ActivationKernels.apply(activation, input.pointer, y.pointer, count: y.count)
        lastOutput = y
        lastInput = input
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let dx = inputGrad.view(batch: y.shape[0])
        ActivationKernels.backward(activation, x: lastInput.map { UnsafePointer($0.pointer) }, y: y.pointer,
                                   dy: outputGrad.pointer, dx: dx.pointer, count: y.count)
        return dx
    }
}

extension ActivationLayer {
    /// The activation's nodes (`Activation.onnx`).
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        activation.onnx(input, name: name, in: graph)
    }

    /// The activation's `torch.nn` module, called (`Activation.torchModule`).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        TorchCode(module: activation.torchModule, forward: activation == .linear ? [] : ["x = \(module)(x)"])
    }
}
