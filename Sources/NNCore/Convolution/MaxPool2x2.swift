import CSupport

/// 2×2 max pooling with stride 2 of h×w planes (ConvKernels.c: branch-free, AVX-512 where the CPU
/// has it): y = the maximum of each window as PyTorch's max_pool2d (the first of equal values
/// wins, and so does a NaN; an odd last row or column is left out), with each window's winner
/// (its index in the plane) kept for backward.
public enum MaxPool2x2 {
    /// y `[planes, h/2, w/2]` and winners from x `[planes, h, w]`.
    @inline(__always)
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, winners: UnsafeMutablePointer<Int32>,
                               planes: Int, height: Int, width: Int) {
        nn_maxpool2_forward(x, y, winners, planes, Int32(height), Int32(width))
    }

    /// The adjoint: dx `[planes, h, w]` (every element written) holds g at each winner, 0 elsewhere.
    @inline(__always)
    public static func backward(_ g: UnsafePointer<Float>, winners: UnsafePointer<Int32>, _ dx: UnsafeMutablePointer<Float>,
                                planes: Int, height: Int, width: Int) {
        nn_maxpool2_backward(g, winners, dx, planes, Int32(height), Int32(width))
    }
}
