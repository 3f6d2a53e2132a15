/// The shape of a 2-D convolution (torch.nn.Conv2d: cross-correlation, NCHW): per sample an input
/// `[channels, height, width]`, weights `[outChannels, channels, kh, kw]`, an output
/// `[outChannels, H', W']` with H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 and W' likewise, for a
/// stride s, zero padding p and dilation d per axis (pairs are (height, width)).
public struct ConvolutionShape: Sendable {
    public let channels: Int, height: Int, width: Int
    public let outChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    public let outHeight: Int, outWidth: Int

    public init(channels: Int, height: Int, width: Int, outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) {
        self.channels = channels
        self.height = height
        self.width = width
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        outHeight = ConvolutionShape.outputSize(height, kernel.0, stride.0, padding.0, dilation.0)
        outWidth = ConvolutionShape.outputSize(width, kernel.1, stride.1, padding.1, dilation.1)
    }

    /// ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1: the output length of an input of length n.
    public static func outputSize(_ n: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int {
        (n + 2 * p - d * (k - 1) - 1) / s + 1
    }

    /// `[in·kh·kw]`: the fan-in of one output unit.
    public var patch: Int { channels * kernel.0 * kernel.1 }
    /// H'·W': the positions of one output plane.
    public var spatial: Int { outHeight * outWidth }
    /// Floats of one sample's input and output.
    public var inputCount: Int { channels * height * width }
    public var outputCount: Int { outChannels * outHeight * outWidth }
    /// Floats of one sample's output after 2×2/2 max pooling: out·⌊H'/2⌋·⌊W'/2⌋.
    public var pooledCount: Int { outChannels * (outHeight / 2) * (outWidth / 2) }
    /// Output tiles of 2×2 per sample (Winograd): ⌈H'/2⌉ × ⌈W'/2⌉.
    var tileRows: Int { (outHeight + 1) / 2 }
    var tileCols: Int { (outWidth + 1) / 2 }
}

extension ConvolutionShape {
    /// The direct definition, for tests to compare the engine with:
    /// y[b, o, i, j] = bias[o] + Σ_{c, u, v} W[o, c, u, v]·x[b, c, i·s − p + u·d, j·s − p + v·d]
    /// (0 outside the input), summed in Float in order of (c, u, v) after the bias.
    public func referenceForward(_ x: [Float], weight w: [Float], bias b: [Float]?, batch: Int) -> [Float] {
        let (C, H, W, O) = (channels, height, width, outChannels)
        let (kh, kw) = kernel
        var y: [Float] = []
        y.reserveCapacity(batch * outputCount)
        for n in 0..<batch {
            for o in 0..<O {
                for i in 0..<outHeight {
                    for j in 0..<outWidth {
                        var s: Float = b?[o] ?? 0
                        for c in 0..<C {
                            for u in 0..<kh {
                                for v in 0..<kw {
                                    let yy = i * stride.0 - padding.0 + u * dilation.0
                                    let xx = j * stride.1 - padding.1 + v * dilation.1
                                    if yy >= 0 && yy < H && xx >= 0 && xx < W {
                                        s += w[((o * C + c) * kh + u) * kw + v] * x[((n * C + c) * H + yy) * W + xx]
                                    }
                                }
                            }
                        }
                        y.append(s)
                    }
                }
            }
        }
        return y
    }

    /// The direct definition's gradients for an output gradient dy (Float sums over the batch and
    /// positions): dx[b, c, y, x] = Σ W[o, c, u, v]·dy[b, o, i, j] over the (o, i, j, u, v) that
    /// read x[b, c, y, x], dW[o, c, u, v] = Σ_{b, i, j} dy[b, o, i, j]·x[b, c, i·s − p + u·d, j·s − p + v·d],
    /// db[o] = Σ_{b, i, j} dy[b, o, i, j].
    public func referenceBackward(_ x: [Float], weight w: [Float], outputGrad dy: [Float], batch: Int)
        -> (dx: [Float], dW: [Float], db: [Float]) {
        let (C, H, W, O) = (channels, height, width, outChannels)
        let (kh, kw) = kernel
        var dx = [Float](repeating: 0, count: batch * inputCount)
        var dW = [Float](repeating: 0, count: w.count)
        var db = [Float](repeating: 0, count: O)
        for n in 0..<batch {
            for o in 0..<O {
                for i in 0..<outHeight {
                    for j in 0..<outWidth {
                        let g = dy[((n * O + o) * outHeight + i) * outWidth + j]
                        db[o] += g
                        for c in 0..<C {
                            for u in 0..<kh {
                                for v in 0..<kw {
                                    let yy = i * stride.0 - padding.0 + u * dilation.0
                                    let xx = j * stride.1 - padding.1 + v * dilation.1
                                    guard yy >= 0 && yy < H && xx >= 0 && xx < W else { continue }
                                    let wi = ((o * C + c) * kh + u) * kw + v, xi = ((n * C + c) * H + yy) * W + xx
                                    dW[wi] += g * x[xi]
                                    dx[xi] += g * w[wi]
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dW, db)
    }
}
