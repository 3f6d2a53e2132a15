import NNCore
@testable import NNTrain
import Testing

/// `layers.csv` rows of a run of the shipped subset with `model` and diagnostics on.
func diagnosticsRows(model: String, name: String, epochs: Int = 1) throws -> [[Substring]] {
    let text = subsetConfig(training: #"{"epochs": \#(epochs), "batch_size": 50}"#, extra: #", "diagnostics": true"#)
    var json = try JSONValue.parse(text)
    json = try applyOverride("model=" + model, to: json)
    json = try applyOverride("optimizer={\"type\": \"sgd\", \"lr\": 0.01, \"momentum\": 0.9}", to: json)
    let (_, dir) = try runExperiment(json.serialized(), name: name)
    let lines = String(decoding: try FileIO.read(dir + "/layers.csv"), as: UTF8.self).split(separator: "\n")
    #expect(lines[0] == "epoch,layer,type,act_mean,act_std,dead_fraction,saturated_fraction,grad_norm,weight_norm,update_ratio")
    return lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
}

func deepTanh(_ initJSON: String) -> String {
    let hidden = (0..<6).map { _ in #"{"type": "dense", "units": 64, "activation": "tanh"}"# }.joined(separator: ", ")
    return #"{"input": [1, 28, 28], "init": \#(initJSON), "layers": [{"type": "flatten"}, \#(hidden), {"type": "dense", "units": 10}]}"#
}

@Test func smallInitCollapsesActivationsAndXavierKeepsThem() throws {
    let small = try diagnosticsRows(model: deepTanh(#"{"type": "normal", "std": 0.01}"#), name: "diag-small")
    let xavier = try diagnosticsRows(model: deepTanh(#""xavier_normal""#), name: "diag-xavier")
    #expect(small.count == 8 && xavier.count == 8)  // 1 epoch × 8 layers
    let stdSmall = small.map { Double($0[4])! }, stdXavier = xavier.map { Double($0[4])! }
    // Layer 6 (the last tanh) against layer 1: small init shrinks it by orders of magnitude.
    #expect(stdSmall[6] < stdSmall[1] / 1000, "\(stdSmall)")
    #expect(stdXavier[6] > 0.2 && stdXavier[6] > stdXavier[1] / 3, "\(stdXavier)")
    // Update/weight ratios: vanishing with the small init, near the notes' 1e-3 with Xavier.
    #expect(Double(small[2][9])! < 1e-5 && Double(xavier[2][9])! > 1e-4)
}

@Test func deadReLUsAreCounted() throws {
    let model = #"{"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "dense", "units": 32, "activation": "relu", "bias_init": -10000}, {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 10}]}"#
    let rows = try diagnosticsRows(model: model, name: "diag-dead")
    #expect(rows[1][2] == "dense" && Double(rows[1][5]) == 1.0)  // every unit of layer 1 is dead
    #expect(rows[3][5].isEmpty)                                   // no ReLU, no dead fraction
}
