import CSupport

/// The element-wise passes of the recurrent cells (CSupport/Recurrent.c), one batch row of one
/// time step, torch's gate order; the same IEEE operations on every CPU.
public enum RecurrentKernels {
    /// LSTM: g `[i f g o]` pre-activations (+ `bias`) → activations; c, tanh(c), h of the step (h
    /// also to `y` when given).
    @inline(__always)
    public static func lstmForward(_ g: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, cellBefore: UnsafePointer<Float>,
                                   cell: UnsafeMutablePointer<Float>, tanhCell: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>,
                                   y: UnsafeMutablePointer<Float>?, hidden: Int) {
        nn_lstm_forward(g, bias, cellBefore, cell, tanhCell, h, y, hidden)
    }

    /// LSTM backward from dL/dh = `dh` (+ `dy`) over `rows` rows of one step (row b's activations
    /// and gate gradients `rowStride` apart, its c_prev and tanh(c) `stateStride` apart, its dh, dc
    /// `hidden` apart, its dy `dyStride` apart): the pre-activation gradients `dg` (4h), their sum
    /// over the rows added to `sum` once; `dc` holds dL/dc from the step after and is left holding
    /// dL/dc_prev. `portable`: the portable body on any CPU (it gives the same bits).
    @inline(__always)
    public static func lstmBackwardRows(_ a: UnsafePointer<Float>, rowStride: Int, cellBefore: UnsafePointer<Float>,
                                        tanhCell: UnsafePointer<Float>, stateStride: Int, dh: UnsafePointer<Float>,
                                        dy: UnsafePointer<Float>?, dyStride: Int, dc: UnsafeMutablePointer<Float>,
                                        dg: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Float>?, rows: Int, hidden: Int,
                                        portable: Bool = false) {
        nn_lstm_backward_rows(a, rowStride, cellBefore, tanhCell, stateStride, dh, dy, dyStride, dc, dg, sum, rows, hidden, portable ? 1 : 0)
    }

    /// GRU: gi `[r z n]` (W_i·x) += b_i → activations; rec (W_h·h) += b_h; h of the step (also to `y`).
    @inline(__always)
    public static func gruForward(_ gi: UnsafeMutablePointer<Float>, biasIH: UnsafePointer<Float>?, recurrent: UnsafeMutablePointer<Float>,
                                  biasHH: UnsafePointer<Float>?, hBefore: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>,
                                  y: UnsafeMutablePointer<Float>?, hidden: Int) {
        nn_gru_forward(gi, biasIH, recurrent, biasHH, hBefore, h, y, hidden)
    }

    /// GRU backward from `dh` (+ `dy`): dgi and drec (3h each, added to `sumIH`, `sumHH` when
    /// given), and z⊙dh in `direct`.
    @inline(__always)
    public static func gruBackward(_ a: UnsafePointer<Float>, recurrent: UnsafePointer<Float>, hBefore: UnsafePointer<Float>,
                                   dh: UnsafePointer<Float>, dy: UnsafePointer<Float>?, dgi: UnsafeMutablePointer<Float>,
                                   drec: UnsafeMutablePointer<Float>, direct: UnsafeMutablePointer<Float>,
                                   sumIH: UnsafeMutablePointer<Float>?, sumHH: UnsafeMutablePointer<Float>?, hidden: Int) {
        nn_gru_backward(a, recurrent, hBefore, dh, dy, dgi, drec, direct, sumIH, sumHH, hidden)
    }

    /// Elman RNN: a (+ `bias`) → h = tanh(a) or relu(a), in a, h and `y` (when given).
    @inline(__always)
    public static func rnnForward(_ a: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, h: UnsafeMutablePointer<Float>,
                                  y: UnsafeMutablePointer<Float>?, hidden: Int, relu: Bool) {
        nn_rnn_forward(a, bias, h, y, hidden, relu ? 1 : 0)
    }

    /// Elman RNN backward: da = d⊙(1 − h²) or d⊙[h > 0], d = `dh` (+ `dy`); da added to `sum`.
    @inline(__always)
    public static func rnnBackward(_ h: UnsafePointer<Float>, dh: UnsafePointer<Float>, dy: UnsafePointer<Float>?, da: UnsafeMutablePointer<Float>,
                                   sum: UnsafeMutablePointer<Float>?, hidden: Int, relu: Bool) {
        nn_rnn_backward(h, dh, dy, da, sum, hidden, relu ? 1 : 0)
    }

    /// σ(x) and tanh(x) with the cells' exp, over n values.
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) { nn_rnn_sigmoid(x, y, n) }
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) { nn_rnn_tanh(x, y, n) }
}
