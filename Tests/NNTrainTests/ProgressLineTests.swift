import NNCore
@testable import NNTrain
import Testing

// The progress bar of `nntrain run` on a terminal: one line that fits the width.

/// Epoch 3 of 10, step 45 of 86, 2,345 samples/s, 12 s in, 65 s to go.
let sampleLine = ProgressLine(epoch: 3, epochs: 10, step: 45, steps: 86, loss: 0.41234, elapsed: 12,
                              samplesPerSecond: 2345, eta: 65)

@Test(arguments: [40, 50, 80, 200])
func progressLineFitsTheWidth(width: Int) {
    for unicode in [true, false] {
        let line = sampleLine.render(width: width, unicode: unicode)
        #expect(line.count < width, "\(width): \(line)")
        #expect(line.hasPrefix("epoch 3/10 ") && line.hasSuffix("ETA 1:05"), "\(line)")
        #expect(!line.contains("\n") && !line.contains("\r"))
    }
}

@Test func progressLineAtEachWidth() {
    #expect(sampleLine.render(width: 40, unicode: true) == "epoch 3/10  loss 0.4123  ETA 1:05")
    #expect(sampleLine.render(width: 50, unicode: true) == "epoch 3/10  ████···· 45/86  loss 0.4123  ETA 1:05")
    #expect(sampleLine.render(width: 80, unicode: true)
            == "epoch 3/10  ████···· 45/86  loss 0.4123  2345 samples/s  elapsed 0:12  ETA 1:05")
    #expect(sampleLine.render(width: 200, unicode: true)
            == "epoch 3/10  " + String(repeating: "█", count: 15) + String(repeating: "·", count: 15)
               + " 45/86  loss 0.4123  2345 samples/s  elapsed 0:12  ETA 1:05")
}

/// Where the step count is longer, samples/s is shortened before elapsed is left out.
@Test func progressLineShortensBeforeDropping() {
    var line = sampleLine
    line.step = 129; line.steps = 169; line.epoch = 2; line.epochs = 30
    #expect(line.render(width: 80, unicode: false) == "epoch 2/30  ##########---- 129/169  loss 0.4123  2345/s  elapsed 0:12  ETA 1:05")
    #expect(line.render(width: 50, unicode: false) == "epoch 2/30  ##########----  loss 0.4123  ETA 1:05")
}

/// Outside a UTF-8 locale the bar is ASCII: no byte above 127.
@Test func progressLineFallsBackToASCII() {
    for width in [40, 50, 80, 200] {
        #expect(sampleLine.render(width: width, unicode: false).utf8.allSatisfy { $0 < 128 })
    }
    #expect(sampleLine.render(width: 80, unicode: false) == "epoch 3/10  ####---- 45/86  loss 0.4123  2345 samples/s  elapsed 0:12  ETA 1:05")
    for (locale, utf8) in [(nil, false), ("C", false), ("POSIX", false), ("en_US.UTF-8", true), ("C.utf8", true), ("de_DE@euro", false)] {
        #expect(ProgressLine.isUTF8(locale: locale) == utf8, "\(locale ?? "nil")")
    }
}

/// The ETA is the whole run's, not the epoch's; the rate counts only this process's steps.
@Test func progressETACoversTheWholeRun() {
    // Epoch 2 of 10, step 50 of 100: 150 steps done, 150 of them in 15 s → 10 steps/s;
    // 850 steps left → 85 s. 100 steps are 5,000 examples: 500 samples/s.
    let a = ProgressLine.measured(epoch: 2, epochs: 10, step: 50, steps: 100, loss: 1, elapsed: 15, stepsThisRun: 150, trainExamples: 5000)
    #expect(a.eta == 85 && a.samplesPerSecond == 500)
    #expect(a.render(width: 200, unicode: false).hasSuffix("elapsed 0:15  ETA 1:25"))
    // Resumed at epoch 9: 50 steps in 10 s → 5 steps/s; 150 left → 30 s.
    let b = ProgressLine.measured(epoch: 9, epochs: 10, step: 50, steps: 100, loss: 1, elapsed: 10, stepsThisRun: 50, trainExamples: nil)
    #expect(b.eta == 30 && b.samplesPerSecond == nil)
    #expect(ProgressLine.clock(3725) == "1:02:05" && ProgressLine.clock(.nan) == "?")
}

/// Lines too long for the terminal break between fields, never inside `val_loss 0.4123`.
@Test func epochLinesWrapBetweenFields() {
    let line = "epoch 1/30  loss 1.8945  accuracy 0.7119  val_loss 1.4508  val_accuracy 0.7833  lr 0.001  1.2 s"
    let wrapped = wrapFields(line, width: 50).split(separator: "\n").map(String.init)
    #expect(wrapped == ["epoch 1/30  loss 1.8945  accuracy 0.7119", "  val_loss 1.4508  val_accuracy 0.7833  lr 0.001", "  1.2 s"])
    #expect(wrapFields(line, width: 200) == line)
    #expect(significant(2.7390524e-06, 4) == "2.739e-06" && significant(0.001, 4) == "0.001")
    // A huge but finite loss (a run diverging) is shown, not a crash.
    #expect(fmt(1.5e30, 4) == "1.5e+30" && fmt(-0.41234, 4) == "-0.4123")
    #expect(ProgressLine(epoch: 1, epochs: 1, step: 1, steps: 2, loss: 3e38, elapsed: 1).render(width: 80, unicode: false).contains("loss 3e+38"))
}
