import NNCore

/// `{"type": "max_pool2d", "kernel_size": 2}` or `avg_pool2d`: pooling over k×k windows
/// (`Pool2D`, padding 0) of an image input `[C, H, W]`, output `[C, H', W']` with
/// H' = ⌊(H − k)/s⌋ + 1; the stride defaults to the kernel size. No parameters.
public struct Pool2DSpec: LayerKind {
    public var max: Bool
    public var kernel: [Int], stride: [Int]

    public init(max: Bool, kernel: [Int], stride: [Int]) {
        self.max = max
        self.kernel = kernel
        self.stride = stride
    }

    public static let typeNames = ["max_pool2d", "avg_pool2d"]

    public static func read(_ r: ObjectReader, type: String) -> Pool2DSpec {
        let k = r.sizePair("kernel_size", 2, min: 1)
        let s = r.has("stride") ? r.sizePair("stride", 2, min: 1) : { r.record("stride", .array(k.map { .number(Double($0)) })); return k }()
        return Pool2DSpec(max: type == "max_pool2d", kernel: k, stride: s)
    }

    public var typeName: String { max ? "max_pool2d" : "avg_pool2d" }
    public var linearity: Linearity { max ? .nonlinear : .linear }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        let (k, s) = (kernel, stride)
        guard model.needImage(shape, typeName, at: site) else { return nil }
        let h = (shape[1] - k[0]) / s[0] + 1, w = (shape[2] - k[1]) / s[1] + 1
        guard shape[1] >= k[0] && shape[2] >= k[1] else {
            model.errors.append(ConfigError(path: site.path, message: "pooling window \(k) is larger than the input \(shape)"))
            return nil
        }
        return LayerPlan(output: [shape[0], h, w], description: typeName + " \(k[0])×\(k[1])")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        Pool2D(name: site.name, kind: max ? .max : .average, inputShape: shape, kernel: (kernel[0], kernel[1]), stride: (stride[0], stride[1]))
    }
}

/// Max or average pooling over k×k windows with a stride (torch.nn.MaxPool2d / AvgPool2d with
/// padding 0): H' = ⌊(H − k)/s⌋ + 1. Max pooling keeps the winner's index (Int32) so backward
/// routes each gradient to it; average pooling spreads it evenly (1/(kh·kw) each).
public final class Pool2D: Layer {
    public enum Kind: String, Sendable { case max, average }
    public let name: String
    public let kind: Kind
    public let kernel: (Int, Int), stride: (Int, Int)
    public let outputShape: Shape
    let channels: Int, inH: Int, inW: Int, outH: Int, outW: Int
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var winners: UnsafeMutablePointer<Int32>?
    private var lastBatch = 0
    /// Whether the layer before pools for this one (`Model.build`, `Conv2D.canFuse`): forward and
    /// backward then pass their tensor through.
    public var fusion = FusionState()
    private var passedThrough = false

    public init(name: String, kind: Kind, inputShape: [Int], kernel: (Int, Int), stride: (Int, Int)) {
        self.name = name
        self.kind = kind
        self.kernel = kernel
        self.stride = stride
        channels = inputShape[0]
        inH = inputShape[1]
        inW = inputShape[2]
        outH = (inH - kernel.0) / stride.0 + 1
        outW = (inW - kernel.1) / stride.1 + 1
        outputShape = Shape([channels, outH, outW])
    }

    deinit { winners?.deallocate() }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample([channels, inH, inW]), maxBatch: maxBatch)
        if kind == .max {
            winners?.deallocate()
            winners = .allocate(capacity: maxBatch * outputShape.count)
        }
    }

    /// 2×2 max pooling with stride 2: the C kernels (`MaxPool2x2`), or the convolution before.
    var isMax2x2: Bool { kind == .max && kernel == (2, 2) && stride == (2, 2) }

    public var fusibleWork: Fusion? { isMax2x2 ? .maxPool2x2 : nil }

    /// Planes per pool job below which pooling stays on one thread.
    var planeMinimum: Int { max(2, 16_384 / max(1, inH * inW)) }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        lastBatch = batch
        passedThrough = fusion.doneByPrevious != nil
        if passedThrough { return input }
        let y = output.view(batch: batch)
        Parallel.forEach(batch * channels, minimum: planeMinimum, align: 1, PoolForward(layer: self, x: input.pointer, y: y.pointer))
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        if passedThrough { return outputGrad }
        let batch = lastBatch
        let dx = inputGrad.view(batch: batch)
        Parallel.forEach(batch * channels, minimum: planeMinimum, align: 1, PoolBackward(layer: self, dx: dx.pointer, g: outputGrad.pointer))
        return dx
    }

    /// The forward pass of planes `range` (one plane: one sample's channel).
    func forwardPlanes(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        let inv = 1 / Float(kernel.0 * kernel.1)
        let (kh, kw, sh, sw, ih, iw, oh, ow) = (kernel.0, kernel.1, stride.0, stride.1, inH, inW, outH, outW)
        if kind == .max, let win = winners {
            if isMax2x2 {
                // The common case in C (ConvKernels.c): branch-free, winners as in the general loop.
                let lo = range.lowerBound
                MaxPool2x2.forward(x + lo * ih * iw, out + lo * oh * ow, winners: win + lo * oh * ow, planes: range.count,
                                   height: ih, width: iw)
                return
            }
            for p in range {
                let src = x + p * ih * iw
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let o = (p * oh + oy) * ow + ox
                        let y0 = oy * sh, x0 = ox * sw
                        var best = src[y0 * iw + x0], arg = y0 * iw + x0
                        // As PyTorch: the first of equal values wins, and so does a NaN.
                        for i in 0..<kh {
                            let row = (y0 + i) * iw + x0
                            for j in 0..<kw where src[row + j] > best || src[row + j].isNaN { best = src[row + j]; arg = row + j }
                        }
                        out[o] = best
                        win[o] = Int32(arg)
                    }
                }
            }
            return
        }
        for p in range {
            let src = x + p * ih * iw
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var s: Float = 0
                    for i in 0..<kh { for j in 0..<kw { s += src[(oy * sh + i) * iw + ox * sw + j] } }
                    out[(p * oh + oy) * ow + ox] = s * inv
                }
            }
        }
    }

    /// The backward pass of planes `range`: dx of those planes from the output gradient g.
    func backwardPlanes(dx d: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, _ range: Range<Int>) {
        let inv = 1 / Float(kernel.0 * kernel.1)
        let perPlane = outH * outW, planeSize = inH * inW
        if isMax2x2, let win = winners {
            let lo = range.lowerBound
            MaxPool2x2.backward(g + lo * perPlane, winners: win + lo * perPlane, d + lo * planeSize, planes: range.count,
                                height: inH, width: inW)
            return
        }
        (d + range.lowerBound * planeSize).update(repeating: 0, count: range.count * planeSize)
        if kind == .max, let win = winners {
            for p in range {
                let dst = d + p * planeSize
                for o in (p * perPlane)..<((p + 1) * perPlane) { dst[Int(win[o])] += g[o] }
            }
            return
        }
        for p in range {
            let dst = d + p * planeSize
            for oy in 0..<outH {
                for ox in 0..<outW {
                    let v = g[(p * outH + oy) * outW + ox] * inv
                    for i in 0..<kernel.0 { for j in 0..<kernel.1 { dst[(oy * stride.0 + i) * inW + ox * stride.1 + j] += v } }
                }
            }
        }
    }
}

/// A pooling forward pass over a block of planes (`Pool2D.forwardPlanes`).
struct PoolForward: ParallelLoop {
    let layer: Pool2D
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    func run(_ planes: Range<Int>) { layer.forwardPlanes(x: x, out: y, planes) }
}

/// A pooling backward pass over a block of planes (`Pool2D.backwardPlanes`).
struct PoolBackward: ParallelLoop {
    let layer: Pool2D
    let dx: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>
    func run(_ planes: Range<Int>) { layer.backwardPlanes(dx: dx, g: g, planes) }
}

extension Pool2D {
    /// MaxPool or AveragePool: no padding, floor of the output size (ceil_mode 0), so the
    /// average is over the whole window (count_include_pad does not arise).
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        graph.add(kind == .max ? "MaxPool" : "AveragePool", [input], name: name,
                  attributes: [("kernel_shape", .ints([kernel.0, kernel.1])), ("strides", .ints([stride.0, stride.1]))])
    }

    /// `torch.nn.MaxPool2d` / `AvgPool2d` (kernel, stride; no padding, floor sizes).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let type = kind == .max ? "MaxPool2d" : "AvgPool2d"
        return TorchCode(module: "torch.nn.\(type)(\(TorchCode.pair(kernel)), \(TorchCode.pair(stride)))", forward: ["x = \(module)(x)"])
    }
}
