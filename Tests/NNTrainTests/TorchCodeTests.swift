import NNCore
import Testing

@testable import NNTrain

// `Layer.exportTorch`: each layer's PyTorch code; the default names the layer.

/// A layer without a PyTorch form makes the export throw, naming it, also inside a residual block.
@Test func torchExportOfALayerWithoutAPyTorchFormNamesIt() {
    let wrong = WrongDense(makeDense(.relu))
    #expect(throws: TorchExportError.self) { _ = try wrong.exportTorch("self.layers[0]") }
    do {
        let block = Residual(name: "layers.2", inputShape: [5], inner: [wrong], projection: nil)
        _ = try block.exportTorch("self.layers[2]")
        Issue.record("no error")
    } catch {
        #expect(error.message == "layer wrong (WrongDense) has no PyTorch form; nntrain export --format torch cannot write this model")
    }
}

/// Every activation as torch computes it in nntrain's form, fused and as a module.
@Test(arguments: [
    (Activation.linear, "y", "torch.nn.Identity()"),
    (.relu, "torch.relu(y)", "torch.nn.ReLU()"),
    (.sigmoid, "torch.sigmoid(y)", "torch.nn.Sigmoid()"),
    (.tanh, "torch.tanh(y)", "torch.nn.Tanh()"),
    (.leakyReLU(alpha: 0.01), "F.leaky_relu(y, 0.01)", "torch.nn.LeakyReLU(0.01)"),
    (.elu(alpha: 1), "F.elu(y, 1.0)", "torch.nn.ELU(1.0)"),
    (.softplus(beta: 2, threshold: 5), "F.softplus(y, 2.0, 5.0)", "torch.nn.Softplus(2.0, 5.0)"),
    (.gelu(tanhApproximation: false), "F.gelu(y)", "torch.nn.GELU()"),
    (.gelu(tanhApproximation: true), "F.gelu(y, approximate=\"tanh\")", "torch.nn.GELU(approximate=\"tanh\")"),
    (.silu, "F.silu(y)", "torch.nn.SiLU()"),
])
func activationsHaveTheirTorchForms(activation: Activation, fused: String, module: String) {
    #expect(activation.torch("y") == fused)
    #expect(activation.torchModule == module)
}

/// Dense: a Linear, or with weight norm a Tensors module whose names are the parameters'.
@Test func denseTorchCodeNamesItsParameters() throws {
    var rng = Xoshiro256(seed: 3, stream: .initialization)
    let plain = Dense(name: "layers.1", inFeatures: 5, outFeatures: 3, activation: .relu, initialization: .xavierUniform(gain: 1), rng: &rng)
    #expect(try plain.exportTorch("self.layers[1]")
        == TorchCode(module: "torch.nn.Linear(5, 3, bias=True)", forward: ["x = torch.relu(self.layers[1](x))"]))
    let norm = Dense(name: "layers.1", inFeatures: 5, outFeatures: 3, activation: .linear, useBias: false,
                     initialization: .xavierUniform(gain: 1), weightNorm: true, rng: &rng)
    let code = try norm.exportTorch("self.layers[1]")
    #expect(code.module == "Tensors(weight_v=(3, 5), weight_g=(3, 1))")
    #expect(Set(norm.parameters.map(\.name)) == ["layers.1.weight_v", "layers.1.weight_g"])
    #expect(code.forward == ["x = F.linear(x, weight_norm(self.layers[1].weight_v, self.layers[1].weight_g), None)"])
    #expect(code.helpers == [.tensors, .weightNorm])
}
