import NNCore

/// `{"type": "maxout", "units": 64, "pieces": 2}`: `units` outputs, each the max of `pieces`
/// linear units (`Maxout`), on a flat input `[in]`. Parameters: units·pieces·(in + 1).
public struct MaxoutSpec: LayerKind {
    public var units: Int
    public var pieces: Int
    public var layerOptions: LayerOptions

    public init(units: Int, pieces: Int, options: LayerOptions = LayerOptions()) {
        self.units = units
        self.pieces = pieces
        layerOptions = options
    }

    public static let typeNames = ["maxout"]

    public static func read(_ r: ObjectReader, type: String) -> MaxoutSpec {
        let u = r.units()
        let k = r.int("pieces", default: 2, check: .closed(2, 64))
        return MaxoutSpec(units: u, pieces: k, options: LayerOptions.read(r, hasBias: true))
    }

    public var options: LayerOptions? { layerOptions }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        guard model.needFlat(shape, "maxout", at: site) else { return nil }
        let params = units * pieces * (shape[0] + 1)
        model.warnIfSymmetric(layerOptions, at: site)
        return LayerPlan(output: [units], parameters: params, description: "maxout \(shape[0])→\(units)×\(pieces)")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        Maxout(name: site.name, inFeatures: shape.reduce(1, *), units: units, pieces: pieces,
               initialization: layerOptions.initialization ?? site.defaultInit, biasInit: layerOptions.biasInit, rng: &rng)
    }
}

/// Maxout (Goodfellow et al. 2013): z = x·Wᵀ + b with W `[units·pieces, in]`, and unit u's
/// output is the largest of its pieces z[u·pieces ..< (u+1)·pieces]. The winning piece of
/// each output is kept (Int32) so backward routes the gradient to it alone.
public final class Maxout: Layer {
    public let name: String
    public let inFeatures: Int
    public let units: Int
    public let pieces: Int
    public let weight: Parameter
    public let bias: Parameter
    public let outputShape: Shape
    private var z: BatchBuffer!
    private var output: BatchBuffer!
    private var dz: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var winners: UnsafeMutablePointer<Int32>?
    private var lastInput: Tensor?

    public init(name: String, inFeatures: Int, units: Int, pieces: Int, initialization: InitSpec, biasInit: Float = 0,
                rng: inout Xoshiro256) {
        self.name = name
        self.inFeatures = inFeatures
        self.units = units
        self.pieces = pieces
        let w = Tensor(zeros: [units * pieces, inFeatures])
        initialization.fill(w, fanIn: inFeatures, fanOut: units * pieces, rng: &rng)
        weight = Parameter(name: name + ".weight", value: w, decays: true, rows: units * pieces)
        let b = Tensor(zeros: [units * pieces])
        b.fill(biasInit)
        bias = Parameter(name: name + ".bias", value: b, decays: false)
        outputShape = Shape([units])
    }

    deinit { winners?.deallocate() }

    public var parameters: [Parameter] { [weight, bias] }

    public func allocate(maxBatch: Int) {
        z = BatchBuffer(sampleShape: .sample([units * pieces]), maxBatch: maxBatch)
        dz = BatchBuffer(sampleShape: .sample([units * pieces]), maxBatch: maxBatch)
        output = BatchBuffer(sampleShape: .sample([units]), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample([inFeatures]), maxBatch: maxBatch)
        winners?.deallocate()
        winners = .allocate(capacity: maxBatch * units)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        let zt = z.view(batch: batch), y = output.view(batch: batch)
        let width = units * pieces
        gemm(transposeB: true, m: batch, n: width, k: inFeatures, input.pointer, weight.value.pointer, zt.pointer)
        ActivationKernels.biasActivate(zt.pointer, bias: bias.value.pointer, rows: batch, cols: width, .linear)
        let zp = zt.pointer, out = y.pointer, win = winners!
        for r in 0..<batch {
            for u in 0..<units {
                let base = r * width + u * pieces
                var best = zp[base], arg: Int32 = 0
                for j in 1..<pieces where zp[base + j] > best { best = zp[base + j]; arg = Int32(j) }
                out[r * units + u] = best
                win[r * units + u] = arg
            }
        }
        lastInput = input
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let x = lastInput else { preconditionFailure("\(name): backward before forward") }
        let batch = x.shape[0], width = units * pieces
        let g = dz.view(batch: batch).pointer, dy = outputGrad.pointer, win = winners!
        g.update(repeating: 0, count: batch * width)
        for r in 0..<batch {
            for u in 0..<units { g[r * width + u * pieces + Int(win[r * units + u])] = dy[r * units + u] }
        }
        let db = bias.grad.pointer
        db.update(repeating: 0, count: width)
        for r in 0..<batch { for c in 0..<width { db[c] += g[r * width + c] } }
        gemm(transposeA: true, m: width, n: inFeatures, k: batch, g, x.pointer, weight.grad.pointer)
        guard needsInputGradient else { return nil }
        let dx = inputGrad.view(batch: batch)
        gemm(m: batch, n: inFeatures, k: width, g, weight.value.pointer, dx.pointer)
        return dx.reshaped(x.shape)
    }
}

extension Maxout {
    /// Gemm to [N, units·pieces], Reshape to [N, units, pieces] (a unit's pieces adjacent),
    /// ReduceMax over the pieces.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        let w = graph.constant(weight.name, dims: [units * pieces, inFeatures], weight.value.scalars)
        let b = graph.constant(bias.name, dims: [units * pieces], bias.value.scalars)
        let z = graph.add("Gemm", [input, w, b], name: name, attributes: [("transB", .int(1))])
        let grouped = graph.add("Reshape", [z, graph.constant(name + ".shape", int64s: [-1, units, pieces])], name: name)
        return graph.add("ReduceMax", [grouped], name: name, attributes: [("axes", .ints([2])), ("keepdims", .int(0))])
    }

    /// `torch.nn.Linear(in, units·pieces)`, then the maximum over each unit's pieces.
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        TorchCode(module: "torch.nn.Linear(\(inFeatures), \(units * pieces))",
                  forward: ["x = \(module)(x).reshape(-1, \(units), \(pieces)).amax(dim=2)"])
    }
}
