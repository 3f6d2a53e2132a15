import NNCore

/// One problem in a config: where (`$.optimizer.lr`) and what.
///
/// Rendered as `$.optimizer.lr: expected number > 0, got -0.1`; the CLI puts the file name first.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Every problem found in a config, reported together (`validate` lists them all).
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Collects errors and warnings while a config is read, so one pass reports all of them.
public final class Diagnostics {
    public private(set) var errors: [ConfigError] = []
    public private(set) var warnings: [ConfigError] = []
    public init() {}
    public func error(_ path: String, _ message: String) { errors.append(ConfigError(path: path, message: message)) }
    public func warning(_ path: String, _ message: String) { warnings.append(ConfigError(path: path, message: message)) }
    public var hasErrors: Bool { !errors.isEmpty }
}

/// Levenshtein distance, for "did you mean" suggestions.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// The closest candidate within edit distance min(3, half the word's length), if any.
public func closest(to word: String, in candidates: [String]) -> String? {
    var best: (String, Int)?
    let limit = min(3, max(1, word.count / 2))
    for c in candidates {
        let d = editDistance(word.lowercased(), c.lowercased())
        if d <= limit && (best == nil || d < best!.1) { best = (c, d) }
    }
    return best?.0
}

/// Names users of PyTorch, Keras or Caffe reach for, and the name nntrain uses for the same
/// thing. Edit distance misses most of them (`xavier` is 8 edits from `xavier_uniform`), so
/// they are looked up first; an entry applies only where its target is one of the valid names.
public let nearMisses: [String: String] = [
    // init: the Keras and torch.nn.init spellings
    "xavier": "xavier_uniform", "glorot": "xavier_uniform", "glorot_uniform": "xavier_uniform",
    "glorot_normal": "xavier_normal", "he": "he_normal", "kaiming": "he_normal", "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform", "lecun": "lecun_normal", "zero": "zeros",
    // layer types: torch.nn and Keras class names
    "linear": "dense", "fc": "dense", "fully_connected": "dense", "conv": "conv2d", "convolution": "conv2d",
    "maxpool": "max_pool2d", "max_pool": "max_pool2d", "maxpool2d": "max_pool2d", "avgpool": "avg_pool2d",
    "avg_pool": "avg_pool2d", "avgpool2d": "avg_pool2d", "batchnorm": "batch_norm", "bn": "batch_norm",
    "layernorm": "layer_norm", "lrn": "local_response_norm",
    // keys
    "warmup": "warmup_epochs", "early_stop": "early_stopping", "earlystopping": "early_stopping",
    "learning_rate": "lr", "decay": "weight_decay",
    // metrics (Keras's history names)
    "val_acc": "val_accuracy", "acc": "accuracy",
]

/// The valid name a user most likely meant by `word`: a known near miss, else the closest
/// candidate by edit distance; nil when nothing is close.
public func suggestion(for word: String, in candidates: [String]) -> String? {
    if let target = nearMisses[word.lowercased()], candidates.contains(target) { return target }
    return closest(to: word, in: candidates)
}
