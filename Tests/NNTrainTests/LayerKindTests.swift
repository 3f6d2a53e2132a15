import NNCore
@testable import NNTrain
import Testing

/// The registry lists the types in the order error messages show them (unchanged from the
/// enum it replaced, softsign added after residual, then the sequence layers).
@Test func layerTypesKeepTheirOrder() {
    #expect(LayerSpec.types == ["flatten", "dense", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool", "dropout",
                                "activation", "prelu", "rrelu", "maxout", "batch_norm", "layer_norm", "local_response_norm",
                                "residual", "softsign", "embedding", "rnn", "lstm", "gru", "global_average_pool1d",
                                "global_max_pool1d", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "softplus", "gelu",
                                "silu", "swish"])
    for t in LayerSpec.types { #expect(LayerSpec.kind(named: t) != nil, "\(t)") }
    #expect(LayerSpec.kind(named: "linear") == nil && LayerSpec.kind(named: "Dense") == nil)
}

/// Specs compare by kind and value.
@Test func layerSpecsCompareByKindAndValue() {
    let a = LayerSpec(DenseSpec(units: 4, activation: .relu))
    #expect(a == LayerSpec(DenseSpec(units: 4, activation: .relu)))
    #expect(a != LayerSpec(DenseSpec(units: 5, activation: .relu)))
    #expect(a != LayerSpec(ActivationSpec(.relu)))
    #expect(LayerSpec(ResidualSpec(layers: [a])) == LayerSpec(ResidualSpec(layers: [a])))
    #expect(LayerSpec(ResidualSpec(layers: [a])) != LayerSpec(ResidualSpec(layers: [a, a])))
}

/// What the diagnostics, the linear-stack check and `Pretrained` ask of each kind.
@Test func kindsAnswerForTheirLayers() {
    #expect(LayerSpec(DenseSpec(units: 4, activation: .relu)).isReLU)
    #expect(LayerSpec(ActivationSpec(.relu)).isReLU)
    #expect(!LayerSpec(ActivationSpec(.tanh)).isReLU)
    #expect(!LayerSpec(Conv2DSpec(outChannels: 4, kernel: [3, 3], activation: .relu)).isReLU)  // as before: dense and activation only
    #expect(LayerSpec(ActivationSpec(.leakyReLU(alpha: 0.1))).typeName == "leaky_relu(0.1)")
    #expect(LayerSpec(Pool2DSpec(max: false, kernel: [2, 2], stride: [2, 2])).typeName == "avg_pool2d")
    let activations = LayerSpec.types.filter { LayerSpec.kind(named: $0)?.isActivationFunction == true }
    #expect(activations == ["activation", "prelu", "rrelu", "softsign", "relu", "sigmoid", "tanh", "leaky_relu", "elu",
                            "softplus", "gelu", "silu", "swish"])
}

/// A nested block's layers are planned as the model's own, one level deeper.
@Test func residualBlocksPlanTheirLayersThroughTheirKinds() throws {
    let text = subsetConfig().replacing(#"{"type": "dropout", "rate": 0.1}"#,
                                        with: #"{"type": "residual", "layers": [{"type": "dense", "units": 16, "activation": "relu"}]}"#)
    let plan = ModelPlan(config: try readConfig(text))
    #expect(plan.errors.isEmpty)
    let rows = plan.rows.map { "\($0.name) \($0.depth) \($0.description) \($0.outputShape) \($0.parameterCount)" }
    #expect(rows == ["layers.0 0 flatten [784] 0", "layers.1 0 dense 784→32, relu [32] 25120",
                     "layers.2 0 residual, projection 32→16 [16] 512", "layers.2.layers.0 1 dense 32→16, relu [16] 528",
                     "layers.3 0 dense 16→10 [10] 170"])
}
