import CSupport

/// The element-wise passes of the recurrent cells (CSupport/Recurrent.c), one batch row of one
/// time step, torch's gate order; the same IEEE operations on every CPU.
public enum RecurrentKernels {
    /// LSTM: g `[i f g o]` pre-activations (+ `bias`) → activations; c, tanh(c), h of the step.
    @inline(__always)
    public static func lstmForward(_ g: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, cellBefore: UnsafePointer<Float>,
                                   cell: UnsafeMutablePointer<Float>, tanhCell: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>,
                                   hidden: Int) {
        nn_lstm_forward(g, bias, cellBefore, cell, tanhCell, h, hidden)
    }

    /// LSTM backward: the pre-activation gradients `dg` (4h); `dc` holds dL/dc from the step
    /// after and is left holding dL/dc_prev.
    @inline(__always)
    public static func lstmBackward(_ a: UnsafePointer<Float>, cellBefore: UnsafePointer<Float>, tanhCell: UnsafePointer<Float>,
                                    dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>, dg: UnsafeMutablePointer<Float>, hidden: Int) {
        nn_lstm_backward(a, cellBefore, tanhCell, dh, dc, dg, hidden)
    }

    /// GRU: gi `[r z n]` (W_i·x) += b_i → activations; rec (W_h·h) += b_h; h of the step.
    @inline(__always)
    public static func gruForward(_ gi: UnsafeMutablePointer<Float>, biasIH: UnsafePointer<Float>?, recurrent: UnsafeMutablePointer<Float>,
                                  biasHH: UnsafePointer<Float>?, hBefore: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>, hidden: Int) {
        nn_gru_forward(gi, biasIH, recurrent, biasHH, hBefore, h, hidden)
    }

    /// GRU backward: dgi and drec (3h each), and z⊙dh in `direct`.
    @inline(__always)
    public static func gruBackward(_ a: UnsafePointer<Float>, recurrent: UnsafePointer<Float>, hBefore: UnsafePointer<Float>,
                                   dh: UnsafePointer<Float>, dgi: UnsafeMutablePointer<Float>, drec: UnsafeMutablePointer<Float>,
                                   direct: UnsafeMutablePointer<Float>, hidden: Int) {
        nn_gru_backward(a, recurrent, hBefore, dh, dgi, drec, direct, hidden)
    }

    /// Elman RNN: a (+ `bias`) → h = tanh(a) or relu(a), in a and h.
    @inline(__always)
    public static func rnnForward(_ a: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, h: UnsafeMutablePointer<Float>, hidden: Int,
                                  relu: Bool) {
        nn_rnn_forward(a, bias, h, hidden, relu ? 1 : 0)
    }

    /// Elman RNN backward: da = dh⊙(1 − h²) or dh⊙[h > 0].
    @inline(__always)
    public static func rnnBackward(_ h: UnsafePointer<Float>, dh: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>, hidden: Int, relu: Bool) {
        nn_rnn_backward(h, dh, da, hidden, relu ? 1 : 0)
    }

    /// σ(x) and tanh(x) with the cells' exp, over n values.
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) { nn_rnn_sigmoid(x, y, n) }
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) { nn_rnn_tanh(x, y, n) }
}
