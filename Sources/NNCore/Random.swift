/// SplitMix64: a 64-bit generator used to seed others and for small test fixtures.
///
/// `z = (state += 0x9E3779B97F4A7C15); z = (z ^ z>>30)·0xBF58476D1CE4E5B9;
///  z = (z ^ z>>27)·0x94D049BB133111EB; return z ^ z>>31` (Steele, Lea, Flood 2014).
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The independent random streams of one run. Each has its own generator, so adding dropout
/// does not change the shuffling order, and a resumed run continues every stream where it was.
public enum RandomStream: UInt64, CaseIterable, Sendable {
    case initialization = 1, shuffle = 2, dropout = 3, augmentation = 4, split = 5, sampling = 6
}

/// xoshiro256** (Blackman & Vigna 2018), the generator behind every random number of a run.
///
/// Seeding: the four state words are four SplitMix64 outputs started at
/// `seed ^ (stream · 0xD1B54A32D192ED03)`, so streams of one seed are unrelated and every
/// platform produces the same numbers.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable {
    public var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64, stream: RandomStream) {
        self.init(seed: seed, streamID: stream.rawValue)
    }

    public init(seed: UInt64, streamID: UInt64) {
        var sm = SplitMix64(seed: seed ^ (streamID &* 0xD1B5_4A32_D192_ED03))
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    public init(state: [UInt64]) {
        precondition(state.count == 4, "Xoshiro256: state needs 4 words")
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
    }

    public var state: [UInt64] { [s0, s1, s2, s3] }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits (every Float32 step of that range is equally likely).
    @inline(__always)
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1.0p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUnitFloat()
    }

    /// Standard normal by the Box–Muller transform (one value per call; both uniforms fresh).
    public mutating func normal() -> Double {
        let u1 = nextUnitDouble()
        return Xoshiro256.boxMuller(u1, nextUnitDouble())
    }

    /// The Box–Muller transform: a standard normal value from two uniforms in [0, 1),
    /// z = √(−2 ln(1 − u₁)) · cos(2π u₂) (1 − u₁ lies in (0, 1], so the logarithm is finite).
    /// |z| stays below 9 (√(2 · 53 · ln 2) ≈ 8.6 for 53-bit uniforms).
    @inline(__always)
    public static func boxMuller(_ u1: Double, _ u2: Double) -> Double {
        (-2.0 * _log(1.0 - u1)).squareRoot() * _cos(2.0 * Double.pi * u2)
    }

    /// An integer uniform in 0..<n without modulo bias (Lemire's method).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0, "Xoshiro256.below: n must be > 0")
        return Int(next(upperBound: UInt64(n)))
    }

    /// Fisher–Yates shuffle of `array` in place (on its buffer: an unspecialised
    /// `Array.swapAt` allocated once per swap).
    @inlinable
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        array.withUnsafeMutableBufferPointer { buf in
            for i in stride(from: buf.count - 1, to: 0, by: -1) {
                let j = below(i + 1)
                if i != j { buf.swapAt(i, j) }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) private func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
