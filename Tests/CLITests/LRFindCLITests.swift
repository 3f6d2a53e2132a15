import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NNCore
import Testing

// `nntrain lr-find` through the binary on the quickstart config (shipped subset): the files it
// writes, its directory rules, and the issue's test: the suggestion lies within a decade of the
// best lr of a small random sweep.

/// The rows of an lr_find.csv as (lr, loss, smoothed_loss).
func lrFindRows(_ dir: String) throws -> [(lr: Double, loss: Double, smoothed: Double)] {
    let text = try read(dir + "/lr_find.csv")
    let lines = text.split(separator: "\n")
    #expect(lines.first == "step,lr,loss,smoothed_loss")
    return lines.dropFirst().compactMap { line in
        let cells = line.split(separator: ",").map(String.init)
        guard cells.count == 4, let lr = Double(cells[1]), let l = Double(cells[2]), let s = Double(cells[3]) else {
            Issue.record("bad row: \(line)")
            return nil
        }
        return (lr, l, s)
    }
}

@Test func lrFindSuggestsAnLRWithinADecadeOfTheSweepsBest() throws {
    let dir = tempDir("lr-find")
    let r = try nntrain(["lr-find", "configs/quickstart.json", "--out", dir, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try JSONValue.parse(r.stdout)
    guard case .number(let suggested)? = json["suggested_lr"], case .number(let steps)? = json["steps"] else {
        Issue.record("no suggested_lr in \(r.stdout)")
        return
    }
    #expect(json["csv"] == .string(dir + "/lr_find.csv") && json["svg"] == .string(dir + "/lr_find.svg"))
    // The rates rise from 1e-7, one row per step run.
    let rows = try lrFindRows(dir)
    #expect(rows.count == Int(steps))
    #expect(abs(rows[0].lr - 1e-7) < 1e-12)
    for i in rows.indices.dropFirst() { #expect(rows[i].lr > rows[i - 1].lr) }
    // The test ran until the loss diverged (lr 10 is far too high for Adam).
    if case .number(let at)? = json["diverged_at_step"] { #expect(Int(at) == rows.count) } else { Issue.record("no divergence: \(r.stdout)") }
    // The SVG parses as XML and holds the curve.
    let svg = try XMLDocument(contentsOf: URL(fileURLWithPath: dir + "/lr_find.svg"))
    #expect(svg.rootElement()?.name == "svg")
    // The curve, and again in the zoomed chart below it (the loss blew up).
    #expect(try svg.nodes(forXPath: "//*[local-name()='path'][not(@class='clipped')]").count == 2)
    #expect(try svg.nodes(forXPath: "//*[local-name()='script']").isEmpty)

    // A small random sweep over 1e-5…1 with two epochs per trial; its best lr by val_loss.
    let sweep = tempDir("lr-find-sweep")
    let s = try nntrain(["sweep", "configs/quickstart.json", "--param", "optimizer.lr=log:1e-5:1", "--param", "training.epochs=2",
                         "--trials", "8", "--out", sweep, "--json", "--quiet"])
    #expect(s.status == 0, "\(s.stderr)")
    let trials = try read(sweep + "/trials.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    let completed = trials.filter { $0.count > 4 && $0[1] == "completed" }.compactMap { t -> (lr: Double, loss: Double)? in
        guard let lr = Double(t[2]), let loss = Double(t[4]) else { return nil }
        return (lr, loss)
    }
    guard let best = completed.min(by: { $0.loss < $1.loss }) else {
        Issue.record("no completed trial: \(s.stdout)")
        return
    }
    #expect(abs(log10(suggested / best.lr)) <= 1, "suggested \(suggested), the sweep's best \(best.lr)")
}

@Test func lrFindTextOutputAndDirectoryRules() throws {
    let dir = tempDir("lr-find-text")
    let r = try nntrain(["lr-find", "configs/quickstart.json", "--out", dir, "--steps", "40", "--min", "1e-5", "--max", "0.01"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("ran all 40 steps without the loss diverging"), "\(r.stdout)")
    #expect(r.stdout.contains("use it: nntrain run configs/quickstart.json --set optimizer.lr="), "\(r.stdout)")
    let rows = try lrFindRows(dir)
    #expect(rows.count == 40 && abs(rows[39].lr - 0.01) < 1e-12)
    // A second test into the same directory needs --force; so does a run's directory.
    let again = try nntrain(["lr-find", "configs/quickstart.json", "--out", dir, "--quiet"])
    #expect(again.status == 2 && again.stderr.contains("already holds a range test; pass --force"), "\(again.stderr)")
    let forced = try nntrain(["lr-find", "configs/quickstart.json", "--out", dir, "--quiet", "--force", "--steps", "20"])
    #expect(forced.status == 0, "\(forced.stderr)")
    #expect(try lrFindRows(dir).count <= 20)
    let run = tempDir("lr-find-run")
    _ = try nntrain(["run", "configs/quickstart.json", "--out", run, "--set", "training.epochs=1", "--quiet"])
    let onRun = try nntrain(["lr-find", "configs/quickstart.json", "--out", run])
    #expect(onRun.status == 2 && onRun.stderr.contains("holds a training run"), "\(onRun.stderr)")
    #expect(!FileManager.default.fileExists(atPath: run + "/lr_find.csv"))
}

/// Without --out, the directory is the run directory's with `-lr-find` appended.
@Test func lrFindDefaultDirectoryFollowsTheRunDirectory() throws {
    let base = tempDir("lr-find-default")
    try? FileManager.default.removeItem(atPath: base + "-lr-find")
    let r = try nntrain(["lr-find", "configs/quickstart.json", "--set", "output.dir=" + base, "--steps", "20", "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(FileManager.default.fileExists(atPath: base + "-lr-find/lr_find.csv"))
    #expect(FileManager.default.fileExists(atPath: base + "-lr-find/lr_find.svg"))
    #expect(!FileManager.default.fileExists(atPath: base))
}

@Test func lrFindUsageAndDataErrors() throws {
    let cases: [([String], String)] = [
        (["--min", "0"], "--min: expected a positive learning rate, got 0"),
        (["--max", "abc"], "--max: expected a positive learning rate, got abc"),
        (["--min", "1", "--max", "0.1"], "must be below --max"),
        (["--steps", "1"], "--steps: expected an integer in 2...100000, got 1"),
        (["--lr", "0.1"], "use --set optimizer.lr=0.1"),
    ]
    for (args, message) in cases {
        let r = try nntrain(["lr-find", "configs/quickstart.json", "--out", tempDir("lr-find-usage")] + args)
        #expect(r.status == 2 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
    let missing = try nntrain(["lr-find"])
    #expect(missing.status == 2 && missing.stderr.contains("missing CONFIG"))
    let badData = try nntrain(["lr-find", "configs/quickstart.json", "--out", tempDir("lr-find-data"),
                               "--set", "data.train.images=/nonexistent/images.gz"])
    #expect(badData.status == 3, "\(badData.stderr)")
}
