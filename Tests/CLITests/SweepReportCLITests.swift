import Foundation
import NNCore
import Testing

// `nntrain report SWEEP_DIR`: leaderboard, the metric against each parameter with the
// boundary warning drawn, the top trials' curves, halving rungs; the sweep is only read.

/// A quickstart sweep into a fresh directory; its `sweep` result must be `status`.
private func quickSweep(_ name: String, _ params: [String], trials: Int, status: Int32 = 0) throws -> String {
    let dir = tempDir("sweep-report-" + name)
    let r = try nntrain(["sweep", "configs/quickstart.json", "--out", dir, "--trials", String(trials), "--jobs", "2", "--quiet"]
                        + params.flatMap { ["--param", $0] })
    #expect(r.status == status, "\(r.stderr)")
    return dir
}

/// Every file under `dir` but report.html with its size and modification time.
private func listing(_ dir: String) throws -> [String] {
    let fm = FileManager.default
    return try fm.subpathsOfDirectory(atPath: dir).sorted().filter { $0 != "report.html" }.map { p in
        let a = try fm.attributesOfItem(atPath: dir + "/" + p)
        return "\(p) \(a[.size] ?? 0) \((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
    }
}

/// The figure of `html` whose chart has `id`.
private func figure(_ html: String, _ id: String) -> String {
    html.components(separatedBy: "<figure>").first { $0.contains("<clipPath id=\"\(id)-clip\">") } ?? ""
}

@Test func sweepReportDrawsLeaderboardParametersAndTopTrials() throws {
    // lr searched too low for 2 epochs: the best lr is the largest tried, a boundary warning.
    let dir = try quickSweep("random", ["optimizer.lr=log:1e-5:1e-4", "optimizer.type=sgd,adam", "training.epochs=2"], trials: 6)
    let collect = try nntrain(["sweep", "collect", dir])
    let warnings = collect.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }.map { String($0.dropFirst(9)) }
    #expect(warnings.count == 1 && warnings[0].hasPrefix("optimizer.lr: "), "\(collect.stderr)")
    let before = try listing(dir)
    let r = try nntrain(["report", dir])
    #expect(r.status == 0 && r.stdout == "report: \(dir)/report.html\n", "\(r.stderr)")
    #expect(try listing(dir) == before, "the report writes nothing into the sweep but report.html")
    let html = try read(dir + "/report.html")
    #expect(html.hasPrefix("<!DOCTYPE html>") && !html.contains("<script") && !html.contains(" src="))
    for part in ["nntrain sweep report: quickstart", "<h2 id=\"leaderboard\">Leaderboard</h2>", "val_loss against optimizer.lr",
                 "optimizer.lr (log scale)", "val_loss against optimizer.type", ">sgd</text>", ">adam</text>",
                 "Curves of the top 5 trials", "overlay-loss-clip", "overlay-val-loss-clip", "#1 trial "] {
        #expect(html.contains(part), "\(part)")
    }
    // The leaderboard: one row per completed trial; the constant training.epochs is not charted.
    let board = html[html.range(of: "<table class=\"leaderboard\">")!.lowerBound...].prefix { _ in true }
    let table = board[..<board.range(of: "</table>")!.upperBound]
    #expect(table.components(separatedBy: "<tr><td>").count - 1 == 6)
    #expect(!html.contains("val_loss against training.epochs"))
    // One dot per completed trial, the best marked; the warning drawn: the axis runs on to the
    // widened range, the part not searched shaded and labelled, the warning under the chart.
    let lr = figure(html, "param0")
    #expect(lr.components(separatedBy: "fill-opacity=\"0.8\"").count - 1 == 6)
    #expect(lr.contains(">best 0") && lr.contains(">not searched</text>") && lr.contains(">1e-3</text>"))
    #expect(lr.contains("<figcaption><span class=\"finding\">warning: \(xmlEscape(warnings[0]))</span>"))
    #expect(!figure(html, "param1").contains("not searched"))
    #expect(!html.contains("Successive halving rungs"))
}

@Test func sweepReportShowsHalvingRungs() throws {
    let dir = tempDir("sweep-report-halving")
    let s = try nntrain(["sweep", "configs/sweep/quickstart-halving.json", "--out", dir, "--quiet"])
    #expect(s.status == 0, "\(s.stderr)")
    let r = try nntrain(["report", dir, "--out", dir + "/page.html"])
    #expect(r.status == 0 && r.stdout == "report: \(dir)/page.html\n", "\(r.stderr)")
    let html = try read(dir + "/page.html")
    // 9 trials at 1 epoch, the best 3 at 3, the best 1 at 9.
    #expect(html.contains("<tr><td>0</td><td>1</td><td>9</td><td>9</td><td>0</td><td>3</td>"), "\(html)")
    #expect(html.contains("<tr><td>1</td><td>3</td><td>3</td><td>3</td><td>0</td><td>1</td>"))
    #expect(html.contains("<tr><td>2</td><td>9</td><td>1</td><td>1</td><td>0</td><td>—</td>"))
    for part in ["Successive halving rungs", "val_accuracy per rung", ">rung 0 (1 epoch)</text>", ">rung 2 (9 epochs)</text>",
                 ">stopped at rung 0</text>", "<th>epochs</th>"] {
        #expect(html.contains(part), "\(part)")
    }
    // The lr chart: a dot per result at every rung (9 + 3 + 1).
    #expect(figure(html, "param0").components(separatedBy: "fill-opacity=\"0.8\"").count - 1 == 13)
}

@Test func sweepReportListsFailedTrials() throws {
    // SGD with lr up to 1e4 diverges (exit 4) on part of the range.
    let dir = try quickSweep("failed", ["optimizer.lr=log:1e-3:1e4", "optimizer.type=sgd", "training.epochs=2"], trials: 6)
    let r = try nntrain(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    let html = try read(dir + "/report.html")
    let failed = try read(dir + "/trials.csv").split(separator: "\n").filter { $0.contains(",failed,") }.count
    #expect(failed > 0)
    #expect(html.contains("<h3>Not completed</h3>") && html.contains("<td>failed</td>"))
    #expect(figure(html, "param0").contains("failed, not drawn: "))
    #expect(html.contains("\(6 - failed) completed, \(failed) failed"))
}

@Test func sweepReportOfAPlanWithoutResultsAndRefusals() throws {
    let dir = tempDir("sweep-report-plan")
    let p = try nntrain(["sweep", "plan", "configs/sweep/quickstart-lr.json", "--out", dir])
    #expect(p.status == 0, "\(p.stderr)")
    let r = try nntrain(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    let html = try read(dir + "/report.html")
    #expect(html.contains("0 completed, 0 failed, 6 not finished") && html.contains("<td>pending</td>"))
    #expect(html.contains("no data to plot") && !html.contains("Curves of the top"))
    // A sweep with another directory: exit 2, naming it.
    let run = try reportRun("beside-sweep")
    let mixed = try nntrain(["report", run, dir, "--out", dir + "/x.html"])
    #expect(mixed.status == 2 && mixed.stderr.contains("report it alone"), "\(mixed.stderr)")
    // A plan.json that does not parse: exit 2 naming it, no page.
    try FileIO.writeAtomically(dir + "/plan.json", text: "{\"trials\": [")
    try? FileManager.default.removeItem(atPath: dir + "/report.html")
    let broken = try nntrain(["report", dir])
    #expect(broken.status == 2 && broken.stderr.contains("plan.json"), "\(broken.stderr)")
    #expect(!FileIO.exists(dir + "/report.html"))
}

/// A planned sweep (nothing trained) whose plan.json has `edit` applied and whose ledger holds
/// a result per `(trial, metric)`: a nil metric is a failed trial.
private func plannedSweep(_ name: String, _ params: [String], trials: Int, edit: (String) -> String = { $0 },
                          results: [(Int, Double?)]) throws -> String {
    let dir = tempDir("sweep-report-" + name)
    let p = try nntrain(["sweep", "plan", "configs/quickstart.json", "--out", dir, "--trials", String(trials)] + params.flatMap { ["--param", $0] })
    #expect(p.status == 0, "\(p.stderr)")
    try FileIO.writeAtomically(dir + "/plan.json", text: edit(try read(dir + "/plan.json")))
    try FileManager.default.createDirectory(atPath: dir + "/ledger", withIntermediateDirectories: true)
    for (trial, metric) in results {
        let status = metric == nil ? "failed" : "completed", m = metric.map { "\($0)" } ?? "null"
        try FileIO.writeAtomically(dir + "/ledger/result-\(String(format: "%04d", trial))-r0-a1.json", text:
            "{\"trial\":\(trial),\"rung\":0,\"attempt\":1,\"status\":\"\(status)\",\"metric\":\(m),\"best_epoch\":1,\"epochs_run\":1,"
            + "\"seconds\":0.1,\"stop_reason\":\"\(status)\",\"reason\":\(metric == nil ? "\"diverged\"" : "null"),\"exit_code\":\(metric == nil ? 4 : 0)}")
    }
    return dir
}

@Test func sweepReportEscapesTheFailedTrialsCaption() throws {
    // A parameter path with markup in it (plan.json is read back untrusted), one trial failed.
    let dir = try plannedSweep("caption", ["optimizer.type=sgd,adam", "training.epochs=1"], trials: 2,
                               edit: { $0.replacingOccurrences(of: "\"optimizer.type\"", with: "\"optimizer.<i>type</i>\"") },
                               results: [(0, 0.5), (1, nil)])
    let r = try nntrain(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    let html = try read(dir + "/report.html")
    #expect(!html.contains("<i>") && html.contains("failed, not drawn: 0001 (optimizer.&lt;i&gt;type&lt;/i&gt;="), "\(html)")
}

@Test func sweepReportOfExtremeNumbersHasFiniteCoordinates() throws {
    // A range near the largest double (plan.json edited): the widened range the boundary warning
    // suggests is inf; metrics of ±1.7e308 (hostile ledger records). Trial t has lr (t + 1)·2e307,
    // the largest (trial 5) the best. No coordinate may be nan or inf.
    let lr = try NSRegularExpression(pattern: "\"params\":\\{\"optimizer.lr\":[^,}]*")
    let dir = try plannedSweep("extreme", ["optimizer.lr=uniform:0.01:0.1", "training.epochs=1"], trials: 6, edit: { text in
        var out = text.replacingOccurrences(of: "\"min\": 0.01,", with: "\"min\": 1,").replacingOccurrences(of: "\"max\": 0.1", with: "\"max\": 1.5e308")
        for t in 0..<6 {
            let m = lr.firstMatch(in: out, range: NSRange(out.range(of: "{\"trial\":\(t),")!.upperBound..., in: out))!
            out.replaceSubrange(Range(m.range, in: out)!, with: "\"params\":{\"optimizer.lr\":\(Double(t + 1) * 2e307)")
        }
        return out
    }, results: [(0, 1.7e308), (1, 1), (2, 1.7e308), (3, 3), (4, 1.7e308), (5, -1.7e308)])
    let r = try nntrain(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    let html = try read(dir + "/report.html")
    #expect(html.contains("optimizer.lr: the best value 1.2e308 is the largest"), "\(html)")
    let attributes = html.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
    #expect(!attributes.contains { $0.contains("nan") || $0.contains("inf") }, "\(html)")
    // The dots spread over the plot (an inf end of the x axis put every one at its left edge).
    let chart = figure(html, "param0")
    #expect(chart.components(separatedBy: "fill-opacity=\"0.8\"").count - 1 == 6)
    #expect(chart.components(separatedBy: "<circle cx=\"64.0\"").count == 1, "\(chart)")
}
