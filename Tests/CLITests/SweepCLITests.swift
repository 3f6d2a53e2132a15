import Foundation
import NNCore
import Testing

// `nntrain sweep` through the real binary: a tiny sweep end to end, kill and resume, a failing
// trial, the plan/trial/collect path driven by a shell loop, and errors before anything runs.

/// Writes a sweep file over the shipped quickstart config; returns its path.
private func sweepFile(_ dir: String, _ body: String) throws -> String {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/sweep.json"
    try #"{"config": "\#(root)configs/quickstart.json", \#(body)}"#.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// trials.csv (or another of the sweep's CSV files) without the seconds column (times differ between runs).
private func trialsWithoutSeconds(_ dir: String, file: String = "trials.csv") throws -> [String] {
    let lines = try read(dir + "/" + file).split(separator: "\n").map(String.init)
    guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false),
          let s = header.firstIndex(of: "seconds") else { return lines }
    return lines.map { line in
        var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if cells.count > s { cells.remove(at: s) }
        return cells.joined(separator: ",")
    }
}

private func csvRows(_ dir: String) throws -> [[String: String]] {
    let lines = try read(dir + "/trials.csv").split(separator: "\n").map(String.init)
    let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    return lines.dropFirst().map { line in
        Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
    }
}

private let lrSweep = #""metric": {"name": "val_loss"}, "seed": 5, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}, "regularization.l2": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-3}, "training.epochs": {"value": 2}}"#

@Test func tinySweepWritesTrialsCSVALeaderboardAndARunnableBestConfig() throws {
    let dir = tempDir("sweep-e2e")
    let file = try sweepFile(dir, lrSweep + #", "run_cap": 4, "jobs": 2"#)
    let out = try nntrain(["sweep", file, "--out", dir + "/s", "--threads", "1"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.contains("rank  trial  optimizer.lr  regularization.l2") && out.stdout.contains("4 completed (minimize val_loss)"))
    #expect(out.stderr.contains("[4/4] trial"))
    let rows = try csvRows(dir + "/s")
    #expect(try read(dir + "/s/trials.csv").hasPrefix("trial,status,optimizer.lr,regularization.l2,training.epochs,val_loss,best_epoch,epochs_run,seconds,run_dir,reason\n"))
    #expect(rows.count == 4 && rows.allSatisfy { $0["status"] == "completed" && $0["epochs_run"] == "2" })
    for r in rows {
        let lr = Double(r["optimizer.lr"]!)!
        #expect(lr >= 1e-4 && lr <= 1e-2)
        #expect(FileManager.default.fileExists(atPath: dir + "/s/" + r["run_dir"]! + "/curves.csv"))
    }
    // best.json is the best trial's config and reproduces its metric exactly (same threads).
    let best = rows.min { Double($0["val_loss"]!)! < Double($1["val_loss"]!)! }!
    let rerun = try nntrain(["run", dir + "/s/best.json", "--out", dir + "/best-run", "--quiet", "--metric", "val_loss"])
    #expect(rerun.status == 0, "\(rerun.stderr)")
    #expect(Double(rerun.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == Double(best["val_loss"]!))
    // collect --json: the leaderboard for scripts.
    let json = try nntrain(["sweep", "collect", dir + "/s", "--json"])
    let parsed = try JSONValue.parse(Array(json.stdout.utf8))
    #expect(parsed["best"]?["trial"]?.doubleValue == Double(best["trial"]!))
    #expect(parsed["leaderboard"]?.arrayValue?.count == 4 && parsed["finished"] == .bool(true))
    // Running the finished sweep again does nothing and prints the same leaderboard.
    let again = try nntrain(["sweep", file, "--out", dir + "/s", "--threads", "1"])
    #expect(again.status == 0 && again.stdout == out.stdout && !again.stderr.contains("trial 0"))
    // A different sweep in the same directory is refused; growing run_cap extends it.
    let other = try sweepFile(dir + "/other", lrSweep.replacingOccurrences(of: "1e-2", with: "1e-1") + #", "run_cap": 4"#)
    let refused = try nntrain(["sweep", other, "--out", dir + "/s"])
    #expect(refused.status == 2 && refused.stderr.contains("holds a different sweep") && refused.stderr.contains("optimizer.lr"))
    let grown = try nntrain(["sweep", file, "--out", dir + "/s", "--trials", "5", "--threads", "1"])
    #expect(grown.status == 0 && grown.stderr.contains("run_cap 4 → 5") && grown.stderr.contains("[5/5] trial 0004"))
    let grownRows = try csvRows(dir + "/s")
    #expect(grownRows.count == 5 && Array(grownRows.prefix(4)).map { $0["val_loss"] } == rows.map { $0["val_loss"] })
}

@Test func killedSweepResumesWhereItStoppedAndMatchesAnUninterruptedOne() throws {
    let dir = tempDir("sweep-kill")
    let body = lrSweep.replacingOccurrences(of: #""value": 2"#, with: #""value": 30"#) + #", "run_cap": 3"#
    let file = try sweepFile(dir, body)
    let whole = try nntrain(["sweep", file, "--out", dir + "/whole", "--jobs", "1", "--threads", "1", "--quiet"])
    #expect(whole.status == 0, "\(whole.stderr)")
    // Kill -9 the sweep process while trial 1 trains (after its first checkpoint).
    let killed = try nntrain(["sweep", file, "--out", dir + "/killed", "--jobs", "1", "--threads", "1"],
                             signal: SIGKILL, after: 0.05, once: dir + "/killed/trials/0001/checkpoint/checkpoint.safetensors")
    #expect(killed.status == 128 + SIGKILL)
    // The trial it was running gets SIGTERM from the kernel (parent death), checkpoints and exits.
    let log = dir + "/killed/trials/0001/log.txt"
    let deadline = Date().addingTimeInterval(30)
    while !((try? read(log))?.contains("interrupted") ?? false) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    #expect(try read(log).contains("trial 1 interrupted"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/killed/ledger/result-0001-r0-a1.json"))
    // Once its process has exited, collect reports the trial as interrupted.
    var collected = try nntrain(["sweep", "collect", dir + "/killed"])
    while !(try read(dir + "/killed/trials.csv")).contains("1,interrupted,") && Date() < deadline {
        Thread.sleep(forTimeInterval: 0.1)
        collected = try nntrain(["sweep", "collect", dir + "/killed"])
    }
    let killedCSV = try read(dir + "/killed/trials.csv")
    #expect(collected.stdout.contains("1 completed") && killedCSV.contains("1,interrupted,"))
    // The same command continues: trial 0 is kept, trial 1 resumes from its checkpoint.
    let resumed = try nntrain(["sweep", file, "--out", dir + "/killed", "--jobs", "1", "--threads", "1"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("trial 0001: resuming (attempt 2)") && !resumed.stderr.contains("trial 0000"))
    #expect(try read(log).contains("resuming"))
    #expect(try trialsWithoutSeconds(dir + "/killed") == trialsWithoutSeconds(dir + "/whole"))
    let a = try read(dir + "/whole/trials/0001/curves.csv").split(separator: "\n").map { $0.split(separator: ",").prefix(7) }
    let b = try read(dir + "/killed/trials/0001/curves.csv").split(separator: "\n").map { $0.split(separator: ",").prefix(7) }
    #expect(a == b && a.count == 31)
}

@Test func aFailingTrialIsRecordedWithItsReasonAndTheSweepGoesOn() throws {
    let dir = tempDir("sweep-fail")
    let file = try sweepFile(dir, #""method": "grid", "parameters": {"optimizer.type": {"value": "sgd"}, "optimizer.lr": {"values": [0.05, 1000]}, "training.epochs": {"value": 2}}"#)
    let out = try nntrain(["sweep", file, "--out", dir + "/s", "--jobs", "2", "--threads", "1"])
    #expect(out.status == 0, "\(out.stderr)")
    let rows = try csvRows(dir + "/s")
    #expect(rows[0]["status"] == "completed" && rows[1]["status"] == "failed")
    #expect(rows[1]["reason"]!.contains("diverged") && rows[1]["val_loss"] == "")
    #expect(out.stderr.contains("FAILED: diverged"))
    #expect(out.stdout.contains("1 completed, 1 failed"))
    // Retrying runs it again with the same values (and fails the same way).
    let retry = try nntrain(["sweep", dir + "/s", "--retry-failed", "--threads", "1"])
    #expect(retry.status == 0 && retry.stderr.contains("trial 0001: retrying (attempt 2)"))
    #expect(FileManager.default.fileExists(atPath: dir + "/s/ledger/result-0001-r0-a2.json"))
    // Every trial failing is an error with the trials' exit code (4: diverged).
    let all = try sweepFile(dir + "/all", #""method": "grid", "parameters": {"optimizer.type": {"value": "sgd"}, "optimizer.lr": {"values": [1000, 10000]}, "training.epochs": {"value": 1}}"#)
    let bad = try nntrain(["sweep", all, "--out", dir + "/all/s", "--threads", "1"])
    #expect(bad.status == 4 && bad.stderr.contains("every trial failed"))
}

@Test func planTrialCollectDrivenByAShellLoopMatchesTheLocalSweep() throws {
    let dir = tempDir("sweep-array")
    let file = try sweepFile(dir, lrSweep + #", "run_cap": 3"#)
    let local = try nntrain(["sweep", file, "--out", dir + "/local", "--jobs", "1", "--threads", "1", "--quiet"])
    #expect(local.status == 0, "\(local.stderr)")
    let plan = try nntrain(["sweep", "plan", file, "--out", dir + "/array"])
    #expect(plan.status == 0 && plan.stdout.contains("planned 3 trials") && plan.stdout.contains("sbatch --array=0-2"))
    // What a job array does: one process per index, here in a shell loop.
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", "for i in 0 1 2; do \"$0\" sweep trial \"$1\" --index $i --threads 1 --quiet || exit 1; done", binary, dir + "/array"]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let collect = try nntrain(["sweep", "collect", dir + "/array"])
    #expect(collect.status == 0 && collect.stdout.contains("3 completed"))
    #expect(try trialsWithoutSeconds(dir + "/array") == trialsWithoutSeconds(dir + "/local"))
    #expect(try read(dir + "/array/best.json") == read(dir + "/local/best.json"))
    // A finished index is not run twice; an index out of range is an error.
    let again = try nntrain(["sweep", "trial", dir + "/array", "--index", "1"])
    #expect(again.status == 0 && again.stderr.contains("trial 1 already completed"))
    let out = try nntrain(["sweep", "trial", dir + "/array", "--index", "3"])
    #expect(out.status == 2 && out.stderr.contains("trials 0…2"))
}

@Test func sweepProblemsAreReportedBeforeAnyTrialRuns() throws {
    let dir = tempDir("sweep-errors")
    let typo = try sweepFile(dir + "/a", #""parameters": {"optimizer.lrr": {"values": [0.1, 0.01]}, "regularization.l2": {"distribution": "log_uniform", "min": -13, "max": -4}}, "metric": {"name": "val_los"}"#)
    let out = try nntrain(["sweep", typo, "--out", dir + "/a/s"])
    #expect(out.status == 2)
    #expect(out.stderr.contains("$.parameters.regularization.l2.distribution") && out.stderr.contains("log_uniform_values"))
    #expect(out.stderr.contains("$.metric.name") && out.stderr.contains(#"Did you mean "val_loss""#))
    #expect(!FileManager.default.fileExists(atPath: dir + "/a/s"))
    let path = try sweepFile(dir + "/b", #""parameters": {"optimizer.lrr": {"values": [0.1, 0.01]}, "training.batch_size": {"distribution": "uniform", "min": 16, "max": 128}}"#)
    let p = try nntrain(["sweep", path, "--out", dir + "/b/s"])
    #expect(p.status == 2 && p.stderr.contains("$.parameters.optimizer.lrr") && p.stderr.contains(#"Did you mean "lr""#))
    #expect(p.stderr.contains("$.parameters.training.batch_size") && p.stderr.contains("integer"))
    // A config without --param; a bad shorthand.
    let noParam = try nntrain(["sweep", "configs/quickstart.json"])
    #expect(noParam.status == 2 && noParam.stderr.contains("--param optimizer.lr=log:"))
    let bad = try nntrain(["sweep", "configs/quickstart.json", "--param", "optimizer.lr=log:1e-4"])
    #expect(bad.status == 2 && bad.stderr.contains("log: takes min:max"))
}

@Test func shorthandSweepAndTheOptunaAndWandBHooksOfRun() throws {
    let dir = tempDir("sweep-shorthand")
    let out = try nntrain(["sweep", "configs/quickstart.json", "--param", "optimizer.lr=log:1e-3:1e-2", "--param", "training.epochs=1",
                           "--param", "model.layers.1.units=16,32", "--trials", "2", "--out", dir, "--json", "--threads", "1"])
    #expect(out.status == 0, "\(out.stderr)")
    let j = try JSONValue.parse(Array(out.stdout.utf8))
    #expect(j["metric"]?["name"] == .string("val_loss") && j["completed"]?.doubleValue == 2)
    #expect(j["trials"]?.arrayValue?.allSatisfy { ($0["params"]?["optimizer.lr"]?.doubleValue ?? 0) >= 1e-3 } == true)
    // --params-json (a W&B agent's ${args_json_file}) and --result-json / --metric (Optuna's tell).
    try #"{"optimizer.lr": 0.004, "training.epochs": {"value": 1}}"#.write(toFile: dir + "/params.json", atomically: true, encoding: .utf8)
    let run = try nntrain(["run", "configs/quickstart.json", "--params-json", dir + "/params.json", "--out", dir + "/run",
                           "--quiet", "--metric", "val_accuracy", "--result-json", dir + "/result.json"])
    #expect(run.status == 0, "\(run.stderr)")
    let result = try JSONValue.parse(try FileIO.read(dir + "/result.json"))
    #expect(result["metric"] == .string("val_accuracy") && result["goal"] == .string("maximize") && result["status"] == .string("completed"))
    #expect(result["value"]?.doubleValue == Double(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    let config = try JSONValue.parse(try FileIO.read(dir + "/run/config.json"))
    #expect(config["optimizer"]?["lr"]?.doubleValue == 0.004 && config["training"]?["epochs"]?.doubleValue == 1)
}

@Test func halvingPromotesTheKnownBestAndResumesThemFromTheirCheckpoints() throws {
    let dir = tempDir("sweep-halving")
    // Six learning rates too small to learn in one epoch and three that learn: the ranking is known.
    let file = try sweepFile(dir, #""method": "halving", "min_epochs": 1, "max_epochs": 9, "eta": 3, "metric": {"name": "val_loss"}, "parameters": {"optimizer.lr": {"values": [1e-7, 2e-7, 5e-7, 1e-6, 2e-6, 5e-6, 1e-3, 2e-3, 4e-3]}}"#)
    let out = try nntrain(["sweep", file, "--out", dir + "/s", "--jobs", "2", "--threads", "1"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stderr.contains("rungs of 1/3/9 epochs"))
    let rows = try csvRows(dir + "/s")
    #expect(rows.count == 9)
    let promoted = rows.filter { Int($0["rung"]!)! >= 1 }.map { Double($0["optimizer.lr"]!)! }.sorted()
    #expect(promoted == [1e-3, 2e-3, 4e-3])
    let winner = rows.filter { $0["rung"] == "2" }
    #expect(winner.count == 1 && winner[0]["epochs_run"] == "9")
    #expect(rows.filter { $0["rung"] == "0" }.allSatisfy { $0["epochs_run"] == "1" })
    // The winner trained epochs 1…9 once, across three processes, exactly as one uninterrupted run.
    let runDir = dir + "/s/" + winner[0]["run_dir"]!
    #expect(try read(runDir + "/log.txt").components(separatedBy: "resuming").count == 3)
    let rerun = try nntrain(["run", dir + "/s/best.json", "--out", dir + "/best", "--quiet"])
    #expect(rerun.status == 0)
    let a = try read(runDir + "/curves.csv").split(separator: "\n").map { $0.split(separator: ",").prefix(7) }
    let b = try read(dir + "/best/curves.csv").split(separator: "\n").map { $0.split(separator: ",").prefix(7) }
    #expect(a == b && a.count == 10)
}

@Test func repeatsRankConfigurationsByTheirMeanThroughPlanTrialAndAResumedSweep() throws {
    let dir = tempDir("sweep-repeats")
    let file = try sweepFile(dir, #""seed": 5, "run_cap": 2, "repeats": 2, "metric": {"name": "val_loss"}, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}, "training.epochs": {"value": 1}}"#)
    let local = try nntrain(["sweep", file, "--out", dir + "/local", "--jobs", "1", "--threads", "1"])
    #expect(local.status == 0, "\(local.stderr)")
    #expect(local.stderr.contains("4 trials (2 configurations × 2 repeats)") && local.stderr.contains("trial 0003 (config 1, repeat 1)"))
    #expect(local.stdout.contains("rank  config  optimizer.lr  training.epochs  val_loss_mean  val_loss_std")
            && local.stdout.contains("(minimize the mean val_loss of 2 repeats per configuration)"))
    // A job array ranges over the 4 trials; two run, then the sweep continues from its directory.
    let plan = try nntrain(["sweep", "plan", file, "--out", dir + "/array", "--json"])
    let planned = try JSONValue.parse(Array(plan.stdout.utf8))
    #expect(plan.status == 0 && planned["trials"]?.doubleValue == 4 && planned["last_index"]?.doubleValue == 3)
    let again = try nntrain(["sweep", "plan", file, "--out", dir + "/array"])
    #expect(again.stdout.contains("planned 4 trials (2 configurations × 2 repeats)") && again.stdout.contains("--array=0-3"))
    for i in ["0", "3"] {
        let t = try nntrain(["sweep", "trial", dir + "/array", "--index", i, "--threads", "1", "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
    }
    let resumed = try nntrain(["sweep", dir + "/array", "--threads", "1"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("trial 0001 (config 0, repeat 1)") && !resumed.stderr.contains("trial 0000"))
    #expect(try trialsWithoutSeconds(dir + "/array") == trialsWithoutSeconds(dir + "/local"))
    #expect(try trialsWithoutSeconds(dir + "/array", file: "configs.csv") == trialsWithoutSeconds(dir + "/local", file: "configs.csv"))
    #expect(try read(dir + "/array/best.json") == read(dir + "/local/best.json"))
    // One row per trial; the repeats of a configuration share its values, not its seed.
    let rows = try csvRows(dir + "/local")
    #expect(rows.map { $0["config"]! + "/" + $0["repeat"]! } == ["0/0", "0/1", "1/0", "1/1"])
    var means: [Double] = []
    for c in 0..<2 {
        let a = rows[2 * c], b = rows[2 * c + 1]
        #expect(a["optimizer.lr"] == b["optimizer.lr"])
        let mean = (Double(a["val_loss"]!)! + Double(b["val_loss"]!)!) / 2
        #expect(abs(Double(a["val_loss_mean"]!)! - mean) < 1e-12 && a["val_loss_mean"] == b["val_loss_mean"])
        means.append(mean)
        let seedA = try JSONValue.parse(try FileIO.read(dir + "/local/" + a["run_dir"]! + "/config.json"))["seed"]
        let seedB = try JSONValue.parse(try FileIO.read(dir + "/local/" + b["run_dir"]! + "/config.json"))["seed"]
        #expect(seedA != nil && seedA != seedB)
    }
    // best.json: the configuration with the better mean, trained with its first repeat's seed.
    let bestConfig = means[0] <= means[1] ? 0 : 1
    let best = try JSONValue.parse(try FileIO.read(dir + "/local/best.json"))
    let first = try JSONValue.parse(try FileIO.read(dir + "/local/" + rows[2 * bestConfig]["run_dir"]! + "/config.json"))
    #expect(best["seed"] != nil && best["seed"] == first["seed"])
    let json = try JSONValue.parse(Array(try nntrain(["sweep", "collect", dir + "/local", "--json"]).stdout.utf8))
    #expect(json["repeats"]?.doubleValue == 2 && json["best"]?["config"]?.doubleValue == Double(bestConfig))
    #expect(json["trials"]?.arrayValue?.count == 4 && json["configs"]?.arrayValue?.count == 2)
    // Another number of repeats is another sweep; repeats and a seed parameter contradict each other.
    let more = try nntrain(["sweep", file, "--out", dir + "/local", "--repeats", "3"])
    #expect(more.status == 2 && more.stderr.contains("holds a different sweep") && more.stderr.contains("repeats"))
    let seeded = try nntrain(["sweep", "configs/quickstart.json", "--param", "seed=1,2", "--repeats", "2", "--out", dir + "/seeded"])
    #expect(seeded.status == 2 && seeded.stderr.contains("$.parameters.seed: repeats 2 trains each configuration with seeds of its own"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/seeded"))
}

@Test func overlappingParametersAreRefusedBeforeAnythingRuns() throws {
    let dir = tempDir("sweep-overlap")
    let out = try nntrain(["sweep", "configs/quickstart.json", "--param", "model.layers.1.activation=relu,tanh",
                           "--param", #"model.layers=[{"type": "flatten"}, {"type": "dense", "units": 10}]"#,
                           "--param", "optimizer.lr=log:1e-3:1e-1", "--param", #"optimizer={"value": {"type": "sgd", "lr": 0.1}}"#,
                           "--out", dir + "/s"])
    #expect(out.status == 2)
    #expect(out.stderr.contains("$.parameters.model.layers: contains parameter model.layers.1.activation (it sets the whole of model.layers)"))
    #expect(out.stderr.contains("$.parameters.optimizer: contains parameter optimizer.lr (it sets the whole of optimizer)"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/s"))
    let twice = try nntrain(["sweep", "configs/quickstart.json", "--param", "optimizer.lr=0.1", "--param", "optimizer.lr=0.01"])
    #expect(twice.status == 2 && twice.stderr.contains("--param optimizer.lr: sets the same config value as --param optimizer.lr; give it once"))
}

@Test func everyShippedSweepFilePlansAsShipped() throws {
    let dir = tempDir("sweep-shipped")
    let files = try FileManager.default.contentsOfDirectory(atPath: root + "configs/sweep").filter { $0.hasSuffix(".json") }.sorted()
    #expect(files.contains("quickstart-lr-repeats.json") && files.count >= 4)
    for f in files {
        let out = try nntrain(["sweep", "plan", root + "configs/sweep/" + f, "--out", dir + "/" + f, "--json"])
        #expect(out.status == 0 && out.stderr.isEmpty, "\(f): \(out.stderr)")
        if f == "quickstart-lr-repeats.json" {
            #expect(try JSONValue.parse(Array(out.stdout.utf8))["trials"]?.doubleValue == 12)   // 4 configurations × 3 repeats
        }
    }
}

@Test func aClaimWhosePidWasReusedGoesStaleAndItsTrialResumes() throws {
    // The claim's process died and its pid now belongs to a live process (pid 1 here): with no
    // heartbeat for --stale-after seconds the trial is taken again instead of "running" forever.
    let dir = tempDir("sweep-reused-pid")
    let plan = try nntrain(["sweep", "plan", root + "configs/quickstart.json", "--param", "optimizer.lr=0.01", "--param", "training.epochs=1",
                            "--trials", "1", "--out", dir, "--quiet"])
    #expect(plan.status == 0, "\(plan.stderr)")
    try FileManager.default.createDirectory(atPath: dir + "/ledger", withIntermediateDirectories: true)
    let hostName = try nntrainHostName()
    let old = Date().timeIntervalSince1970 - 3600
    try #"{"trial":0,"rung":0,"attempt":1,"host":"\#(hostName)","pid":1,"time":\#(old)}"#
        .write(toFile: dir + "/ledger/claim-0000-r0-a1.json", atomically: true, encoding: .utf8)
    let out = try nntrain(["sweep", "trial", dir, "--index", "0", "--threads", "1", "--quiet"], timeout: 120)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(FileManager.default.fileExists(atPath: dir + "/ledger/result-0000-r0-a2.json"), "\(out.stderr)")
    let collected = try nntrain(["sweep", "collect", dir])
    #expect(collected.stdout.contains("1 completed"), "\(collected.stdout)")
}

/// The host name nntrain writes into its ledger claims (from a claim of a throwaway sweep).
private func nntrainHostName() throws -> String {
    let dir = tempDir("sweep-hostname")
    _ = try nntrain(["sweep", "plan", root + "configs/quickstart.json", "--param", "optimizer.lr=0.01", "--param", "training.epochs=1",
                     "--trials", "1", "--out", dir, "--quiet"])
    _ = try nntrain(["sweep", "trial", dir, "--index", "0", "--threads", "1", "--quiet"], timeout: 120)
    let claim = try JSONValue.parse(try FileIO.read(dir + "/ledger/claim-0000-r0-a1.json"))
    return claim["host"]?.stringValue ?? ""
}
