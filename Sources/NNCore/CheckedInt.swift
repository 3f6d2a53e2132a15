/// 2^53 − 1, the largest integer below which every whole Double is exact (JavaScript's
/// `Number.MAX_SAFE_INTEGER`): the range of integers nntrain reads from JSON.
public let maxExactInteger = 9_007_199_254_740_991

extension Int {
    /// `value` as an Int when it is a whole number in `range`, else nil.
    ///
    /// The one conversion of an untrusted Double (a number from a file, an argument or a
    /// ledger record) to an integer: nan, ±inf, 1e300, 2.5 and anything outside `range` give
    /// nil, never a trap (`Int(1e19)` traps; `Int(exactly:)` alone accepts 2^62 where a count is
    /// meant). The default range is the integers a Double holds exactly, ±(2^53 − 1).
    public init?(checking value: Double?, in range: ClosedRange<Int> = -maxExactInteger...maxExactInteger) {
        guard let value, value.isFinite, value == value.rounded(), let i = Int(exactly: value), range.contains(i) else {
            return nil
        }
        self = i
    }
}
