import CSupport

// im2col and its adjoint col2im: a sample's input patches as the columns of a matrix, so that
// the convolution is one product W·cols. Stride 1 (the usual case) runs in C (ConvKernels.c:
// AVX-512 where the CPU has it); other strides run the loops below.

extension ConvolutionShape {
    /// For kernel column j: the input offset j·d − p, and the range first..<last of output
    /// columns ox whose input column ox·s + offset lies inside [0, W).
    @inline(__always)
    func columns(_ j: Int) -> (offset: Int, first: Int, last: Int) {
        let offset = j * dilation.1 - padding.1
        let first = offset >= 0 ? 0 : (-offset + stride.1 - 1) / stride.1
        let last = min(outWidth, width - offset <= 0 ? 0 : (width - offset - 1) / stride.1 + 1)
        return (offset, first, last)
    }

    /// cols[(c·kh + i)·kw + j, oy·W' + ox] = x[c, oy·s − p + i·d, ox·s − p + j·d] (0 outside);
    /// rows are `rowStride` apart (n·H'·W' when a chunk of n samples shares one matrix).
    func im2col(_ x: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, rowStride: Int) {
        let (inH, inW, outH, outW) = (height, width, outHeight, outWidth)
        for ch in 0..<channels {
            for i in 0..<kernel.0 {
                for j in 0..<kernel.1 {
                    let row = c + ((ch * kernel.0 + i) * kernel.1 + j) * rowStride
                    let (offset, first, last) = columns(j)
                    for oy in 0..<outH {
                        let y = oy * stride.0 - padding.0 + i * dilation.0
                        let dst = row + oy * outW
                        if y < 0 || y >= inH || first >= last {
                            dst.update(repeating: 0, count: outW)
                            continue
                        }
                        let src = x + (ch * inH + y) * inW + offset
                        for ox in 0..<first { dst[ox] = 0 }
                        if stride.1 == 1 {
                            (dst + first).update(from: src + first, count: last - first)
                        } else {
                            let s = stride.1
                            for ox in first..<last { dst[ox] = src[ox * s] }
                        }
                        for ox in last..<outW { dst[ox] = 0 }
                    }
                }
            }
        }
    }

    /// The adjoint of im2col: adds each column entry back to the input position it came from
    /// (dx overwritten).
    func col2im(_ c: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rowStride: Int) {
        let (inH, inW, outH, outW) = (height, width, outHeight, outWidth)
        dx.update(repeating: 0, count: channels * inH * inW)
        for ch in 0..<channels {
            for i in 0..<kernel.0 {
                for j in 0..<kernel.1 {
                    let row = c + ((ch * kernel.0 + i) * kernel.1 + j) * rowStride
                    let (offset, first, last) = columns(j)
                    if first >= last { continue }
                    let s = stride.1
                    for oy in 0..<outH {
                        let y = oy * stride.0 - padding.0 + i * dilation.0
                        if y < 0 || y >= inH { continue }
                        let dst = dx + (ch * inH + y) * inW + offset
                        let src = row + oy * outW
                        if s == 1 {
                            for ox in first..<last { dst[ox] += src[ox] }  // contiguous: vectorised
                        } else {
                            for ox in first..<last { dst[ox * s] += src[ox] }
                        }
                    }
                }
            }
        }
    }

    /// im2col of one sample: in C for stride 1, else `im2col`; `pad` holds one zero-padded plane.
    @inline(__always)
    func columnsOf(_ x: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, rowStride: Int, pad: UnsafeMutablePointer<Float>) {
        if stride == (1, 1) {
            nn_im2col_s1(x, c, rowStride, Int32(channels), Int32(height), Int32(width), Int32(kernel.0), Int32(kernel.1),
                         Int32(padding.0), Int32(padding.1), Int32(dilation.0), Int32(dilation.1), Int32(outHeight),
                         Int32(outWidth), pad)
        } else {
            im2col(x, c, rowStride: rowStride)
        }
    }

    /// col2im of one sample (dx overwritten): in C for stride 1, else `col2im`.
    @inline(__always)
    func imageOf(_ c: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rowStride: Int, pad: UnsafeMutablePointer<Float>) {
        if stride == (1, 1) {
            nn_col2im_s1(c, dx, rowStride, Int32(channels), Int32(height), Int32(width), Int32(kernel.0), Int32(kernel.1),
                         Int32(padding.0), Int32(padding.1), Int32(dilation.0), Int32(dilation.1), Int32(outHeight),
                         Int32(outWidth), pad)
        } else {
            col2im(c, dx, rowStride: rowStride)
        }
    }
}
