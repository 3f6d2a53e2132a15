import NNCore
@testable import NNTrain
import Testing

func runExperiment(_ text: String, name: String) throws -> (Experiment.Result, String) {
    let dir = scratchDirectory(name)
    var options = Experiment.Options()
    options.outputDirectory = dir
    let result = try Experiment.run(try readConfig(text), options: options)
    return (result, dir)
}

/// curves.csv without the `seconds` column.
func curvesWithoutSeconds(_ dir: String) throws -> [String] {
    let text = String(decoding: try FileIO.read(dir + "/curves.csv"), as: UTF8.self)
    return text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") }
}

@Test func sameSeedSameCurvesDifferentSeedDifferentCurves() throws {
    let (_, a) = try runExperiment(subsetConfig(), name: "seed-a")
    let (_, b) = try runExperiment(subsetConfig(), name: "seed-b")
    let (_, c) = try runExperiment(subsetConfig().replacing("\"seed\": 3", with: "\"seed\": 4"), name: "seed-c")
    let ca = try curvesWithoutSeconds(a)
    #expect(ca.count == 3 && ca[0] == "epoch,step,lr,loss,accuracy,val_loss,val_accuracy")
    #expect(ca == (try curvesWithoutSeconds(b)))
    #expect(ca != (try curvesWithoutSeconds(c)))
    #expect(try FileIO.read(a + "/model.safetensors") == (try FileIO.read(b + "/model.safetensors")))
}

@Test func trainingLowersTheLossAndBeatsChance() throws {
    let (result, dir) = try runExperiment(subsetConfig(epochs: 4), name: "learns")
    let rows = try curvesWithoutSeconds(dir).dropFirst().map { $0.split(separator: ",") }
    let losses = rows.map { Double($0[3])! }
    #expect(losses.last! < losses.first! * 0.8, "\(losses)")
    #expect((result.outcome.testAccuracy ?? 0) > 0.7)
    #expect(result.summary["stop_reason"] == .string("completed"))
    #expect(result.summary["epochs_run"] == .number(4))
    let steps = String(decoding: try FileIO.read(dir + "/steps.csv"), as: UTF8.self).split(separator: "\n")
    #expect(steps[0] == "step,epoch,lr,loss,grad_norm")
    #expect(steps.count == 1 + (4 * 54) / 10)  // 54 steps per epoch, a row every 10
}

@Test func divergenceStopsWithExitCodeFourAndAdvice() throws {
    let text = subsetConfig(epochs: 3).replacing("\"type\": \"adam\", \"lr\": 0.002", with: "\"type\": \"sgd\", \"lr\": 1e30")
    do {
        _ = try runExperiment(text, name: "diverge")
        Issue.record("did not diverge")
    } catch let e as RunError {
        #expect(e.exitCode == 4)
        #expect(e.description.contains("learning rate") && e.description.contains("clip"))
    }
    let summary = try JSONValue.parse(try FileIO.read(scratchPath("diverge") + "/summary.json"))
    #expect(summary["stop_reason"] == .string("diverged"))
    #expect(summary["diverged_at_step"] == .number(2))  // lr 1e30 blows up the first update; step 2 sees it
}

@Test func earlyStoppingStopsAndRestoresTheBestWeights() throws {
    // A tiny learning rate hardly moves val_loss: min_delta 1 means "never improves".
    let text = subsetConfig(training: #"{"epochs": 10, "batch_size": 50, "early_stopping": {"monitor": "val_loss", "patience": 2, "min_delta": 1}}"#)
    let (result, _) = try runExperiment(text, name: "early")
    #expect(result.outcome.stopReason == .earlyStopping)
    #expect(result.outcome.epochsRun == 3)  // best at 1; epochs 2 and 3 do not improve (patience 2)
    #expect(result.outcome.bestEpoch == 1)
}

@Test func existingRunDirectoryIsNotOverwritten() throws {
    let (_, dir) = try runExperiment(subsetConfig(epochs: 1), name: "exists")
    var options = Experiment.Options()
    options.outputDirectory = dir
    #expect(throws: RunError.self) { _ = try Experiment.run(try readConfig(subsetConfig(epochs: 1)), options: options) }
    options.force = true
    #expect(throws: Never.self) { _ = try Experiment.run(try readConfig(subsetConfig(epochs: 1)), options: options) }
}

@Test func regressionOnCSVWithMSE() throws {
    // y = 2·x1 − x2 + 0.5, learnable by a linear model.
    var rng = Xoshiro256(seed: 1, streamID: 5)
    var lines = ["y,x1,x2"]
    for _ in 0..<400 {
        let a = rng.uniform(-1, 1), b = rng.uniform(-1, 1)
        lines.append("\(2 * a - b + 0.5),\(a),\(b)")
    }
    let path = try writeTemp("reg.csv", lines.joined(separator: "\n"))
    let text = """
    {"name": "reg", "seed": 1, "threads": 1,
     "data": {"train": {"format": "csv", "path": "\(path)"}, "task": "regression", "validation_split": 0.25},
     "model": {"input": [2], "layers": [{"type": "dense", "units": 1}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
     "training": {"epochs": 30, "batch_size": 20}}
    """
    let (result, dir) = try runExperiment(text, name: "regression")
    #expect((result.outcome.bestValLoss ?? 1) < 1e-4)
    let header = try curvesWithoutSeconds(dir)[1].split(separator: ",", omittingEmptySubsequences: false)
    #expect(header[4].isEmpty)  // accuracy does not apply
}

@Test func pretrainedFrozenLayersStayBitIdenticalThroughTraining() throws {
    // A first run makes the weights; a second loads them with layer 1 frozen and layer 3 at lr ×0.
    let (_, first) = try runExperiment(subsetConfig(epochs: 1), name: "pretrain")
    let pretrained = try Safetensors.decode(try FileIO.read(first + "/model.safetensors")).entries
    var json = try JSONValue.parse(subsetConfig(epochs: 2))
    json = try applyOverride("model.from=\(first)/model.safetensors", to: json)
    json = try applyOverride("model.layers.1.freeze=true", to: json)
    json = try applyOverride("optimizer.weight_decay=0.1", to: json)
    let (_, second) = try runExperiment(json.serialized(), name: "finetune")
    let tuned = try Safetensors.decode(try FileIO.read(second + "/model.safetensors")).entries
    func values(_ e: [Safetensors.Entry], _ name: String) -> [UInt32] { e.first { $0.name == name }!.values.map(\.bitPattern) }
    #expect(values(tuned, "layers.1.weight") == values(pretrained, "layers.1.weight"))
    #expect(values(tuned, "layers.1.bias") == values(pretrained, "layers.1.bias"))
    #expect(values(tuned, "layers.3.weight") != values(pretrained, "layers.3.weight"))
    // A file whose shapes do not fit is a config error naming both shapes.
    var bad = try JSONValue.parse(subsetConfig(epochs: 1))
    bad = try applyOverride("model.from=\(first)/model.safetensors", to: bad)
    bad = try applyOverride("model.layers.1.units=33", to: bad)
    do {
        _ = try runExperiment(bad.serialized(), name: "finetune-bad")
        Issue.record("accepted mismatched pretrained weights")
    } catch let e as RunError {
        #expect(e.exitCode == 2 && e.description.contains("layers.1.weight has shape [32, 784]"), "\(e)")
    }
}

@Test func clippingByNormBoundsTheUpdateAndStepsReportThePreClipNorm() throws {
    var json = try JSONValue.parse(subsetConfig(epochs: 1))
    json = try applyOverride("regularization.clip.norm=0.001", to: json)
    json = try applyOverride("optimizer={\"type\": \"sgd\", \"lr\": 1}", to: json)
    json = try applyOverride("training.log_every=1", to: json)
    let (_, dir) = try runExperiment(json.serialized(), name: "clip")
    let rows = String(decoding: try FileIO.read(dir + "/steps.csv"), as: UTF8.self).split(separator: "\n").dropFirst()
    let norms = rows.map { Double($0.split(separator: ",")[4])! }
    #expect(norms.count == 54 && norms.allSatisfy { $0 > 0.001 })  // reported before clipping
    // lr 1 would blow the weights up unclipped; clipped to norm 0.001 they stay finite.
    let model = try Safetensors.decode(try FileIO.read(dir + "/model.safetensors")).entries
    #expect(model.allSatisfy { $0.values.allSatisfy(\.isFinite) })
}

@Test func earlyStoppingModeMaxOnALossStopsAtOnce() throws {
    // Forcing "max" on a falling loss: it never improves, so patience 1 stops after epoch 2.
    let text = subsetConfig(training: #"{"epochs": 6, "batch_size": 50, "early_stopping": {"monitor": "loss", "patience": 1, "mode": "max"}}"#)
    let (result, _) = try runExperiment(text, name: "early-max")
    #expect(result.outcome.stopReason == .earlyStopping && result.outcome.epochsRun == 2)
}
