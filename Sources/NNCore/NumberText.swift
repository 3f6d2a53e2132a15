#if canImport(Glibc)
import Glibc
private func mathLog(_ x: Double) -> Double { Glibc.log(x) }
#elseif canImport(Darwin)
import Darwin
private func mathLog(_ x: Double) -> Double { Darwin.log(x) }
#endif

// Numbers as text, the three ways nntrain prints them: `fmt` with a fixed count of decimals
// (figures on the terminal), `significant` as printf's %g (log lines and error messages), and
// `formatSignificant`, significant digits rounded in Swift and written without an exponent
// below 1e15 (the sweep's tables and CSV files). The last two round an exact tie differently
// (printf rounds the exact binary value to even, `formatSignificant` half away from zero), so
// they stay two functions: each call site keeps the text it prints.

/// `x` with `digits` significant digits (printf's %g): `0.0001284`, `2.739e-06`.
public func significant(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var buffer = [CChar](repeating: 0, count: 32)
    let n = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.\(max(1, min(17, digits)))g", $0) }
    guard n > 0 else { return "\(x)" }
    return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `x` with `digits` decimals.
public func fmt(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    // A diverging loss can be finite and huge: past 1e15 (or 17 digits) fixed-point text
    // would not fit an Int, so it is shown with an exponent.
    guard abs(x) < 1e15, digits >= 0, digits <= 17 else { return significant(x, 6) }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (abs(x) * p).rounded()
    var whole = String(Int(r / p))
    var frac = String(Int(r.truncatingRemainder(dividingBy: p)))
    while frac.count < digits { frac = "0" + frac }
    if x < 0 && r != 0 { whole = "-" + whole }
    return digits > 0 ? whole + "." + frac : whole
}

/// `%.12g`-style text of a number (for quantised values).
public func shortDecimal(_ v: Double) -> String {
    var digits = 12
    var best = "\(v)"
    while digits >= 1 {
        let s = formatSignificant(v, digits)
        guard let d = Double(s), abs(d - v) <= abs(v) * 1e-12 else { break }
        best = s
        digits -= 1
    }
    return best
}

/// A number with `digits` significant digits, as plain or exponent text.
public func formatSignificant(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    if v == 0 { return "0" }
    var e = Int(log10Ratio(abs(v)).rounded(.down))
    var scale = pow10(digits - 1 - e)
    var r = (v * scale).rounded() / scale
    if abs(r) >= pow10(e + 1) { e += 1; scale = pow10(digits - 1 - e); r = (v * scale).rounded() / scale }
    if !scale.isFinite || !r.isFinite {
        // Near the ends of Double's range v · scale overflows (inf/inf is nan) or r rounds past
        // the largest Double: round the mantissa itself.
        e = Int(log10Ratio(abs(v)).rounded(.down))
        let unit = pow10(digits - 1)
        var m = e < -290 ? v * 1e300 / pow10(e + 300) : v / pow10(e)
        m = (m * unit).rounded() / unit
        if abs(m) >= 10 { m /= 10; e += 1 }
        return "\(trimZeros(fmt(m, max(0, digits - 1))))e\(e < 0 ? "-" : "")\(abs(e) < 10 ? "0" : "")\(abs(e))"
    }
    if e < -4 || e >= 15 {
        var m = r / pow10(e)
        // r / 10^e can come out as 9.9999… or 10.000… where r is a power of ten (1e299).
        let unit = pow10(max(0, digits - 1))
        if abs((m * unit).rounded()) >= 10 * unit { m /= 10; e += 1 }
        let ms = trimZeros(fmt(m, max(0, digits - 1)))
        return "\(ms)e\(e < 0 ? "-" : "")\(abs(e) < 10 ? "0" : "")\(abs(e))"
    }
    return trimZeros(fmt(r, max(0, digits - 1 - e)))
}

private func pow10(_ n: Int) -> Double {
    var r = 1.0
    if n >= 0 { for _ in 0..<n { r *= 10 } } else { for _ in 0..<(-n) { r /= 10 } }
    return r
}

private func trimZeros(_ s: String) -> String {
    guard s.contains(".") else { return s }
    var t = s
    while t.hasSuffix("0") { t.removeLast() }
    if t.hasSuffix(".") { t.removeLast() }
    return t
}

/// log10 as `formatSignificant` has always computed it, a ratio of natural logarithms (at an
/// exact power of ten it can land just below the integer; the rounding step above catches that).
private func log10Ratio(_ x: Double) -> Double { mathLog(x) / mathLog(10) }
