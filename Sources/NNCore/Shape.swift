/// A tensor shape of rank 0...4 stored inline, so building a view never touches the heap.
///
/// Images are NCHW; a per-sample shape omits the batch dimension (`[1, 28, 28]`).
public struct Shape: Equatable, Hashable, Sendable, CustomStringConvertible {
    public static let maxRank = 4
    public private(set) var rank: Int
    private var d0 = 0, d1 = 0, d2 = 0, d3 = 0

    public init(_ dims: [Int]) {
        precondition(dims.count <= Shape.maxRank, "Shape: rank \(dims.count) > \(Shape.maxRank)")
        rank = dims.count
        for (i, d) in dims.enumerated() { self[i] = d }
    }

    public init(_ dims: Int...) { self.init(dims) }

    public subscript(i: Int) -> Int {
        get {
            precondition(i < rank, "Shape: index \(i) out of rank \(rank)")
            switch i {
            case 0: return d0
            case 1: return d1
            case 2: return d2
            default: return d3
            }
        }
        set {
            switch i {
            case 0: d0 = newValue
            case 1: d1 = newValue
            case 2: d2 = newValue
            default: d3 = newValue
            }
        }
    }

    /// Number of elements (1 for rank 0).
    public var count: Int {
        var n = 1
        for i in 0..<rank { n *= self[i] }
        return n
    }

    public var dims: [Int] { (0..<rank).map { self[$0] } }

    /// The same shape with the leading (batch) dimension replaced.
    public func withBatch(_ batch: Int) -> Shape {
        var s = self
        s[0] = batch
        return s
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
