import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NNCore
import Testing

// curves.svg after a run and `nntrain report` on one and several runs of the quickstart.

/// Whether `path` is well-formed XML (Foundation's parser).
func isWellFormedXML(_ path: String) throws -> Bool {
    XMLParser(data: Data(try FileIO.read(path))).parse()
}

/// A short quickstart run into a fresh directory.
func reportRun(_ name: String, _ sets: [String] = [], extra: [String] = []) throws -> String {
    let dir = tempDir("report-" + name)
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=3"]
                        + sets.flatMap { ["--set", $0] } + extra)
    #expect(r.status == 0, "\(r.stderr)")
    return dir
}

@Test func runWritesCurvesSVG() throws {
    let dir = try reportRun("svg")
    #expect(FileIO.exists(dir + "/curves.svg"))
    #expect(try isWellFormedXML(dir + "/curves.svg"))
    let svg = try read(dir + "/curves.svg")
    #expect(svg.contains("loss per epoch") && svg.contains("accuracy per epoch") && svg.contains(">val_accuracy</text>"))
}

@Test func divergedRunWritesCurvesSVG() throws {
    let dir = tempDir("report-diverged")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "optimizer.type=sgd",
                         "--set", "optimizer.lr=2", "--set", "training.epochs=3"])
    #expect(r.status == 4)
    let rows = try read(dir + "/curves.csv").split(separator: "\n").count
    #expect(FileIO.exists(dir + "/curves.svg") == (rows > 1))
    if rows > 1 { #expect(try isWellFormedXML(dir + "/curves.svg")) }
}

@Test func reportOfOneRun() throws {
    let dir = try reportRun("one", extra: ["--diagnose"])
    let r = try nntrain(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "report: \(dir)/report.html\n")
    let html = try read(dir + "/report.html")
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    for part in ["<h3>Diagnosis</h3>", "<h3>Curves</h3>", "<h3>Steps (steps.csv)</h3>", "<h3>Layers (layers.csv)</h3>",
                 "<h3>Resolved config (config.json)</h3>", "<h3>Summary (summary.json)</h3>", "loss per logged step",
                 "gradient norm per logged step", "activation std per layer", "learning rate per epoch", "<svg "] {
        #expect(html.contains(part), "\(part)")
    }
    // The test split evaluated as `nntrain eval` does: the same accuracy, a 10 × 10 matrix.
    #expect(html.contains("<h3>Test set: per-class figures and confusion matrix</h3>") && html.contains("<table class=\"confusion\">"))
    let eval = try JSONValue.parse(try nntrain(["eval", dir, "--json"]).stdout)
    if let a = eval["accuracy"]?.doubleValue { #expect(html.contains("<p>accuracy \(String(format: "%.4f", a))")) }
    let matrix = html.components(separatedBy: "<table class=\"confusion\">")[1].components(separatedBy: "</table>")[0]
    #expect(matrix.components(separatedBy: "<tr>").count - 1 == 11)
    // A run without weights says why there are no figures.
    let bare = try reportRun("bare")
    FileIO.remove(bare + "/model.safetensors")
    #expect(try nntrain(["report", bare]).status == 0)
    #expect(try read(bare + "/report.html").contains("no model.safetensors"))
    // Self-contained: no scripts, nothing fetched.
    #expect(!html.contains("<script") && !html.contains(" src=") && !html.contains("href="))
    #expect(!html.contains("Runs compared"))
}

@Test func reportOfTwoRunsOverlaysAndDiffsConfigs() throws {
    let a = try reportRun("lr3"), b = try reportRun("lr6", ["optimizer.lr=1e-6"])
    let missing = try nntrain(["report", a, b])
    #expect(missing.status == 2 && missing.stderr.contains("--out"), "\(missing.stderr)")
    let out = tempDir("report-two") + ".html"
    let r = try nntrain(["report", a, b, "--out", out])
    #expect(r.status == 0, "\(r.stderr)")
    let html = try read(out)
    #expect(html.contains("Runs compared") && html.contains("class=\"config-diff\""))
    #expect(html.contains("<tr><td>optimizer.lr</td><td>0.001</td><td>1e-06</td></tr>"), "\(html)")
    #expect(!html.contains("<td>training.epochs</td>"))
    #expect(html.contains("overlay-loss-clip") && html.contains("smoothed step loss"))
}

@Test func reportEscapesHostileStrings() throws {
    let dir = try reportRun("hostile")
    for f in ["config.json", "summary.json"] {
        let text = try read(dir + "/" + f).replacingOccurrences(of: "\"name\": \"quickstart\"", with: "\"name\": \"<script>alert(1)\"")
        try FileIO.writeAtomically(dir + "/" + f, text: text)
    }
    let r = try nntrain(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    let html = try read(dir + "/report.html")
    #expect(!html.contains("<script"))
    #expect(html.contains("&lt;script&gt;alert(1)"))
}

@Test func reportRefusesGarbageMissingAndSweeps() throws {
    let dir = try reportRun("garbage")
    try FileIO.writeAtomically(dir + "/curves.csv", text: "epoch,loss\n1,banana\n")
    let g = try nntrain(["report", dir])
    #expect(g.status == 3 && g.stderr.contains("curves.csv"), "\(g.stderr)")
    let m = try nntrain(["report", dir + "-missing"])
    #expect(m.status == 2, "\(m.stderr)")
    let sweep = tempDir("report-sweep")
    try FileManager.default.createDirectory(atPath: sweep + "/trials", withIntermediateDirectories: true)
    let s = try nntrain(["report", sweep])
    #expect(s.status == 2 && s.stderr.contains("sweep"), "\(s.stderr)")
    #expect(try nntrain(["report"]).status == 2)
    #expect(try nntrain(["help", "report"]).stdout.contains("nntrain report RUN_DIR..."))
}
