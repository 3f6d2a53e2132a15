import NNCore
import Testing

@Test func splitMix64MatchesReference() {
    var g = SplitMix64(seed: 0)
    #expect(g.next() == 0xE220_A839_7B1D_CDAF)
}

@Test func xoshiroMatchesReferenceSequence() {
    // Reference outputs of xoshiro256** from state {1, 2, 3, 4} (Blackman & Vigna's C code).
    var g = Xoshiro256(state: [1, 2, 3, 4])
    #expect([g.next(), g.next(), g.next(), g.next()] == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
}

@Test func streamsAreReproducibleAndIndependent() {
    var a = Xoshiro256(seed: 42, stream: .shuffle), b = Xoshiro256(seed: 42, stream: .shuffle)
    var c = Xoshiro256(seed: 42, stream: .dropout), d = Xoshiro256(seed: 43, stream: .shuffle)
    let xa = (0..<8).map { _ in a.next() }
    #expect(xa == (0..<8).map { _ in b.next() })
    #expect(xa != (0..<8).map { _ in c.next() })
    #expect(xa != (0..<8).map { _ in d.next() })
}

@Test func uniformAndNormalHaveTheRightMoments() {
    var g = Xoshiro256(seed: 1, stream: .initialization)
    let n = 200_000
    var su = 0.0, sn = 0.0, sn2 = 0.0
    for _ in 0..<n {
        let u = Double(g.nextUnitFloat())
        #expect(u >= 0 && u < 1)
        su += u
        let z = g.normal()
        sn += z; sn2 += z * z
    }
    #expect(abs(su / Double(n) - 0.5) < 0.005)
    #expect(abs(sn / Double(n)) < 0.01)
    #expect(abs(sn2 / Double(n) - 1) < 0.02)
}

@Test func shuffleIsAPermutation() {
    var g = Xoshiro256(seed: 5, stream: .shuffle)
    var a = Array(0..<100)
    g.shuffle(&a)
    #expect(a != Array(0..<100))
    #expect(a.sorted() == Array(0..<100))
}
