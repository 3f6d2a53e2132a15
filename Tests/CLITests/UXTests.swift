import Foundation
import NNCore
import Testing

// What a user sees: help that matches the README, suggestions for names from other tools,
// warnings that --quiet keeps, a JSON answer to --json even when the run fails.

/// The usage lines of the README's Commands block.
func readmeUsageLines() throws -> [String] {
    let readme = try read(root + "README.md")
    guard let start = readme.range(of: "## Commands\n\n```\n"), let end = readme.range(of: "```", range: start.upperBound..<readme.endIndex) else {
        Issue.record("README.md has no Commands block")
        return []
    }
    return readme[start.upperBound..<end.lowerBound].split(separator: "\n").map(String.init)
}

/// The `--flags` a text mentions.
func flags(in text: String) -> Set<String> {
    var found = Set<String>()
    let scalars = Array(text.unicodeScalars)
    var i = 0
    while i + 2 < scalars.count {
        if scalars[i] == "-" && scalars[i + 1] == "-" && (i == 0 || !CharacterSet.alphanumerics.contains(scalars[i - 1]) && scalars[i - 1] != "-")
            && CharacterSet.lowercaseLetters.contains(scalars[i + 2]) {
            var j = i + 2
            while j < scalars.count && (CharacterSet.lowercaseLetters.contains(scalars[j]) || scalars[j] == "-") { j += 1 }
            found.insert("--" + String(String.UnicodeScalarView(scalars[(i + 2)..<j])))
            i = j
        } else {
            i += 1
        }
    }
    return found
}

@Test func helpListsEveryFlagTheReadmeDocuments() throws {
    let lines = try readmeUsageLines()
    #expect(lines.count >= 8)
    let overview = try nntrain(["--help"]).stdout
    for command in ["run", "validate", "eval", "predict", "average", "export", "diagnose", "report", "sweep", "bench", "lr-find"] {
        let documented = lines.filter { $0.hasPrefix("nntrain \(command) ") }.reduce(into: Set<String>()) { $0.formUnion(flags(in: $1)) }
        #expect(!documented.isEmpty, "\(command)")
        let help = try nntrain(["help", command])
        #expect(help.status == 0)
        let listed = flags(in: help.stdout)
        #expect(documented.subtracting(listed).isEmpty, "nntrain help \(command) lacks \(documented.subtracting(listed).sorted())")
    }
    // The overview's usage is the README's, line for line.
    for line in lines { #expect(overview.contains("  " + line), "nntrain --help lacks: \(line)") }
}

/// Every flag a command's help lists is one its parser takes (none is only documented).
@Test(arguments: ["run", "validate", "eval", "predict", "average", "export", "diagnose", "bench", "lr-find"])
func everyFlagInHelpIsAccepted(command: String) throws {
    let help = try nntrain(["help", command]).stdout
    // The `--epochs 2 → --set training.epochs=2` hints name flags that are not options.
    let hints: Set<String> = ["--epochs", "--lr", "--batch-size"]
    for flag in flags(in: help).subtracting(hints) {
        let r = try nntrain([command, flag, "x", "--help"])
        #expect(!r.stderr.contains("unknown option"), "\(command) \(flag): \(r.stderr)")
    }
}

@Test func unknownHelpTopicsAndCommandsAreUsageErrors() throws {
    let foo = try nntrain(["help", "foo"])
    #expect(foo.status == 2 && foo.stdout.isEmpty && foo.stderr.contains(#"error: unknown help topic "foo""#), "\(foo.stderr)")
    let trainHelp = try nntrain(["help", "train"])
    #expect(trainHelp.status == 2 && trainHelp.stderr.contains(#"error: unknown help topic "train". Did you mean "run"?"#))
    let train = try nntrain(["train", "configs/quickstart.json"])
    #expect(train.status == 2 && train.stderr.contains(#"error: unknown command "train". Did you mean "run"?"#), "\(train.stderr)")
    let evaluate = try nntrain(["evaluate", "runs/x"])
    #expect(evaluate.status == 2 && evaluate.stderr.contains(#"Did you mean "eval"?"#))
}

/// `--epochs 2` is answered with the --set that does it.
@Test func configValueFlagsPointToSet() throws {
    let cases: [([String], String)] = [
        (["run", "configs/quickstart.json", "--epochs", "2"], "error: unknown option --epochs; use --set training.epochs=2"),
        (["run", "configs/quickstart.json", "--lr=0.01"], "error: unknown option --lr; use --set optimizer.lr=0.01"),
        (["validate", "configs/quickstart.json", "--batch-size", "32"], "error: unknown option --batch-size; use --set training.batch_size=32"),
        (["run", "configs/quickstart.json", "--learning-rate", "-1e-3"], "error: unknown option --learning-rate; use --set optimizer.lr=-1e-3"),
        (["run", "configs/quickstart.json", "--epochs"], "error: unknown option --epochs; use --set training.epochs=VALUE"),
        (["run", "configs/quickstart.json", "--thread", "2"], "error: unknown option --thread. Did you mean --threads?"),
        (["run", "configs/quickstart.json", "--metric", "val_acc"], "got val_acc. Did you mean val_accuracy?"),
    ]
    for (args, message) in cases {
        let r = try nntrain(args)
        #expect(r.status == 2 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
    let bogus = try nntrain(["run", "configs/quickstart.json", "--bogus"])
    #expect(bogus.status == 2 && bogus.stderr.contains("error: unknown option --bogus\n"), "\(bogus.stderr)")
}

/// `validate` and `run` list a shape error with a misspelt key (both in one pass).
@Test func shapeErrorsComeWithTheOtherProblems() throws {
    let edits = ["--set", "optimiser={}", "--set", "model.layers.0.type=dropout"]
    for args in [["validate"], ["run", "--out", tempDir("shape-run")]] {
        let r = try nntrain(args + ["configs/quickstart.json"] + edits)
        #expect(r.status == 2)
        #expect(r.stderr.contains(#"configs/quickstart.json: $.optimiser: unknown key. Did you mean "optimizer"?"#), "\(r.stderr)")
        #expect(r.stderr.contains("configs/quickstart.json: $.model.layers.1: dense expects a flat input [features]"), "\(r.stderr)")
    }
}

/// Warnings reach stderr from validate and run, and --quiet keeps them.
@Test func warningsSurviveQuiet() throws {
    let linear = #"warning: configs/quickstart.json: $.model.layers.3: no nonlinearity between dense layers.1 and this dense, so the two compute one linear map; give layers.1 an activation (e.g. "activation": "relu")"#
    let final = "warning: configs/quickstart.json: $.model.layers.3.activation: cross_entropy applies softmax to the raw scores itself; the last dense layer's relu distorts them. Remove its activation"
    let edits = ["--set", "model.layers.1.activation=linear", "--set", "model.layers.3.activation=relu"]
    let v = try nntrain(["validate", "configs/quickstart.json", "--quiet"] + edits)
    #expect(v.status == 0 && v.stderr.contains(linear) && v.stderr.contains(final), "\(v.stderr)")
    let dir = tempDir("quiet-warnings")
    let r = try nntrain(["run", "configs/quickstart.json", "--quiet", "--out", dir, "--set", "training.epochs=1"] + edits)
    #expect(r.status == 0 && r.stderr.contains(linear) && r.stderr.contains(final), "\(r.stderr)")
    #expect(!r.stderr.contains("epoch 1/1"))  // progress is what --quiet silences
    let clean = try nntrain(["validate", "configs/quickstart.json", "--quiet"])
    #expect(clean.status == 0 && clean.stderr.isEmpty, "\(clean.stderr)")
}

/// With --json, every failure of `run` still prints one JSON object on stdout.
@Test func jsonAnswersEvenWhenTheRunFails() throws {
    let dir = tempDir("json-fail")
    func object(_ args: [String], _ code: Int32, _ status: String) throws -> JSONValue? {
        let r = try nntrain(["run"] + args + ["--json"])
        #expect(r.status == code, "\(args): \(r.stderr)")
        guard let json = try? JSONValue.parse(r.stdout) else {
            Issue.record("\(args): stdout is not one JSON object: \(r.stdout)")
            return nil
        }
        #expect(json["status"] == .string(status) && json["exit_code"] == .number(Double(code)), "\(json)")
        #expect(json["message"]?.stringValue?.isEmpty == false)
        return json
    }
    let usage = try object(["configs/quickstart.json", "--bogus"], 2, "failed")
    #expect(usage?["summary"] == JSONValue.null)
    let config = try object(["configs/quickstart.json", "--set", "optimizer.lr=-1", "--out", dir], 2, "failed")
    #expect(config?["message"]?.stringValue?.contains("$.optimizer.lr: expected number > 0, got -1") == true)
    _ = try object(["configs/quickstart.json", "--set", "data.train.images=/nonexistent.gz", "--out", dir], 3, "failed")
    let diverged = try object(["configs/quickstart.json", "--out", dir, "--force", "--set", #"optimizer={"type": "sgd", "lr": 1e30}"#], 4, "diverged")
    #expect(diverged?["summary"]?["stop_reason"] == .string("diverged"), "\(String(describing: diverged))")
    // Success is unchanged: summary.json itself.
    let ok = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--force", "--json", "--set", "training.epochs=1"])
    #expect(ok.status == 0 && (try? JSONValue.parse(ok.stdout))?["stop_reason"] == .string("completed"))
}

/// Nested --params-json objects merge key by key, as the same --set list would.
@Test func paramsJSONMergesNestedObjects() throws {
    let dir = tempDir("params-nested")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    func resolved(_ params: String, _ name: String) throws -> JSONValue? {
        let file = dir + "/\(name).json"
        try FileIO.writeAtomically(file, text: params)
        let out = dir + "/run-\(name)"
        let r = try nntrain(["run", "configs/quickstart.json", "--params-json", file, "--out", out, "--quiet", "--set", "training.epochs=1"])
        #expect(r.status == 0, "\(params): \(r.stderr)")
        return try? JSONValue.parse(try FileIO.read(out + "/config.json"))
    }
    let nested = try resolved(#"{"training": {"batch_size": 32}, "optimizer": {"lr": {"value": 0.01}}}"#, "nested")
    #expect(nested?["training"]?["batch_size"] == .number(32))
    #expect(nested?["training"]?["log_every"] == .number(10))  // the rest of training stays
    #expect(nested?["optimizer"]?["lr"]?.doubleValue.map { abs($0 - 0.01) < 1e-9 } == true)
    #expect(nested?["optimizer"]?["type"] == .string("adam"))
    let wandb = try resolved(#"{"training": {"value": {"batch_size": 16}}, "optimizer.lr": {"value": 0.01}}"#, "wandb")
    #expect(wandb?["training"]?["batch_size"] == .number(16) && wandb?["training"]?["log_every"] == .number(10))
    // An object where the config has a string goes in whole.
    let init_ = try resolved(#"{"model": {"init": {"type": "orthogonal", "gain": 2}}}"#, "whole")
    #expect(init_?["model"]?["init"]?["type"] == .string("orthogonal") && init_?["model"]?["init"]?["gain"] == .number(2))
    // The same values as --set give the same config.
    let viaSet = dir + "/run-set"
    let s = try nntrain(["run", "configs/quickstart.json", "--out", viaSet, "--quiet", "--set", "training.epochs=1",
                         "--set", "training.batch_size=32", "--set", "optimizer.lr=0.01"])
    #expect(s.status == 0)
    #expect(try JSONValue.parse(try FileIO.read(viaSet + "/config.json")) == nested)
    // A number beyond a double's range is an error naming it as written.
    let huge = dir + "/huge.json"
    try FileIO.writeAtomically(huge, text: #"{"optimizer": {"lr": 1e309}}"#)
    let h = try nntrain(["run", "configs/quickstart.json", "--params-json", huge, "--out", dir + "/run-huge"])
    #expect(h.status == 2 && h.stderr.contains("error: --params-json \(huge): $.optimizer.lr: the number 1e309 is out of range (beyond ±1.8e308)"), "\(h.stderr)")
    let set = try nntrain(["run", "configs/quickstart.json", "--set", "optimizer.lr=1e309", "--out", dir + "/run-huge"])
    #expect(set.status == 2 && set.stderr.contains("--set optimizer.lr=1e309: the number 1e309 is out of range (beyond ±1.8e308)"), "\(set.stderr)")
}

/// The interruption message names what the user did.
@Test func interruptionSaysCtrlCOrSIGTERM() throws {
    for (signal, words, code) in [(SIGINT, "interrupted (Ctrl-C)", Int32(130)), (SIGTERM, "interrupted (SIGTERM)", Int32(143))] {
        let dir = tempDir("interrupt-\(signal)")
        let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--set", "training.epochs=100000"],
                            signal: signal, after: 0.3, once: dir + "/curves.csv")
        #expect(r.status == code, "\(r.stderr)")
        #expect(r.stderr.contains("\n\(words); partial results written; resume with: nntrain run --resume \(dir)"), "\(r.stderr)")
    }
}
