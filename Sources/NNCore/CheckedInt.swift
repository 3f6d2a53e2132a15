/// Checked conversions from numbers read out of files and arguments (untrusted) to `Int`.
///
/// `Int(d)` traps when `d` is NaN, infinite or beyond ±2^63, and silently truncates `1.5` to 1:
/// neither may happen to a value a user or a file supplied. Every Double→Int conversion of such
/// a value goes through here, and the caller turns `nil` into its own error (naming the JSON
/// path or the file).
extension Int {
    /// The integer `d` is exactly, or nil when `d` is not an integer (NaN, infinite, fractional)
    /// or lies outside `range` (default: every `Int`).
    public init?(checking d: Double, in range: ClosedRange<Int>? = nil) {
        guard let i = Int(exactly: d) else { return nil }
        if let range, !range.contains(i) { return nil }
        self = i
    }

    /// `d` rounded toward zero, or nil when NaN, infinite or outside `range` (default: every
    /// `Int`): for sizes computed from a value (a fraction of a count), never for a value that
    /// must itself be an integer.
    public init?(truncating d: Double, in range: ClosedRange<Int>? = nil) {
        let t = d.rounded(.towardZero)
        // 2^63 is exactly representable and is the first Double beyond Int.max.
        guard t.isFinite, t >= -9_223_372_036_854_775_808.0, t < 9_223_372_036_854_775_808.0 else { return nil }
        let i = Int(t)
        if let range, !range.contains(i) { return nil }
        self = i
    }
}
