import NNCore

/// `optimizer`: one of torch.optim's update rules with its hyperparameters, the learning rate,
/// and `weight_decay`, decoupled (AdamW-style) in every rule.
public struct OptimizerConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case sgd, adam, adamw, nadam, adagrad, rmsprop, adadelta }
    /// The update rule and its hyperparameters.
    public var rule: UpdateRule
    public var lr: Float
    public var weightDecay: Float = 0

    public var kind: Kind { rule.kind }

    /// `kind` with torch's defaults, learning rate `lr` and no weight decay.
    public init(kind: Kind, lr: Float) {
        self.lr = lr
        switch kind {
        case .sgd: rule = .sgd(SGD.Hyperparameters())
        case .adam: rule = .adam(Adam.Hyperparameters())
        case .adamw: rule = .adamw(Adam.Hyperparameters())
        case .nadam: rule = .nadam(NAdam.Hyperparameters())
        case .adagrad: rule = .adagrad(Adagrad.Hyperparameters())
        case .rmsprop: rule = .rmsprop(RMSprop.Hyperparameters())
        case .adadelta: rule = .adadelta(Adadelta.Hyperparameters())
        }
    }

    init(_ r: ObjectReader) {
        let kind = Kind(rawValue: r.choice("type", Kind.allCases.map(\.rawValue), default: "adam") ?? "") ?? .adam
        switch kind {
        case .sgd:
            lr = r.float("lr", default: 0.01, check: .positive)
            var h = SGD.Hyperparameters()
            h.momentum = r.float("momentum", default: 0, check: .halfOpen(0, 1))
            h.dampening = r.float("dampening", default: 0, check: .halfOpen(0, 1))
            h.nesterov = r.bool("nesterov", default: false)
            if h.nesterov && (h.momentum <= 0 || h.dampening != 0) {
                r.diagnostics.error(r.childPath("nesterov"), "Nesterov momentum requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
            }
            rule = .sgd(h)
        case .adam, .adamw, .nadam:
            lr = r.float("lr", default: kind == .nadam ? 0.002 : 0.001, check: .positive)
            var betas: (Float, Float) = (0.9, 0.999)
            if let b = r.doubles("betas", default: [0.9, 0.999], count: 2, check: .halfOpen(0, 1)) {
                betas = (Float(b[0]), Float(b[1]))
            }
            let eps = r.float("eps", default: 1e-8, check: .positive)
            if kind == .nadam {
                let decay = r.float("momentum_decay", default: 0.004, check: .nonNegative)
                rule = .nadam(NAdam.Hyperparameters(beta1: betas.0, beta2: betas.1, eps: eps, momentumDecay: decay))
            } else {
                let h = Adam.Hyperparameters(beta1: betas.0, beta2: betas.1, eps: eps, amsgrad: r.bool("amsgrad", default: false))
                rule = kind == .adam ? .adam(h) : .adamw(h)
            }
        case .adagrad:
            lr = r.float("lr", default: 0.01, check: .positive)
            var h = Adagrad.Hyperparameters()
            h.lrDecay = r.float("lr_decay", default: 0, check: .nonNegative)
            h.initialAccumulator = r.float("initial_accumulator_value", default: 0, check: .nonNegative)
            h.eps = r.float("eps", default: 1e-10, check: .positive)
            rule = .adagrad(h)
        case .rmsprop:
            lr = r.float("lr", default: 0.01, check: .positive)
            var h = RMSprop.Hyperparameters()
            h.alpha = r.float("alpha", default: 0.99, check: .halfOpen(0, 1))
            h.eps = r.float("eps", default: 1e-8, check: .positive)
            h.momentum = r.float("momentum", default: 0, check: .halfOpen(0, 1))
            h.centered = r.bool("centered", default: false)
            rule = .rmsprop(h)
        case .adadelta:
            lr = r.float("lr", default: 1.0, check: .positive)
            var h = Adadelta.Hyperparameters()
            h.rho = r.float("rho", default: 0.9, check: .halfOpen(0, 1))
            h.eps = r.float("eps", default: 1e-6, check: .positive)
            rule = .adadelta(h)
        }
        weightDecay = r.float("weight_decay", default: kind == .adamw ? 0.01 : 0, check: .closed(0, 1))
        r.finish()
    }

    /// The optimizer of this config, with zeroed state for `parameterCount` values.
    public func makeOptimizer(parameterCount n: Int) -> any Optimizer {
        switch rule {
        case .sgd(let h): return SGD(count: n, h, weightDecay: weightDecay)
        case .adam(let h), .adamw(let h): return Adam(count: n, h, weightDecay: weightDecay)
        case .nadam(let h): return NAdam(count: n, h, weightDecay: weightDecay)
        case .adagrad(let h): return Adagrad(count: n, h, weightDecay: weightDecay)
        case .rmsprop(let h): return RMSprop(count: n, h, weightDecay: weightDecay)
        case .adadelta(let h): return Adadelta(count: n, h, weightDecay: weightDecay)
        }
    }
}

/// An update rule and its hyperparameters (`optimizer.type` and its keys); adam and adamw differ
/// only in the default `weight_decay`.
public enum UpdateRule: Sendable, Equatable {
    case sgd(SGD.Hyperparameters)
    case adam(Adam.Hyperparameters)
    case adamw(Adam.Hyperparameters)
    case nadam(NAdam.Hyperparameters)
    case adagrad(Adagrad.Hyperparameters)
    case rmsprop(RMSprop.Hyperparameters)
    case adadelta(Adadelta.Hyperparameters)

    public var kind: OptimizerConfig.Kind {
        switch self {
        case .sgd: return .sgd
        case .adam: return .adam
        case .adamw: return .adamw
        case .nadam: return .nadam
        case .adagrad: return .adagrad
        case .rmsprop: return .rmsprop
        case .adadelta: return .adadelta
        }
    }
}
