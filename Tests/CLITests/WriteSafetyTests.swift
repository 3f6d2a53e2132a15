import Foundation
import NNCore
import Testing

// Writes that are safe (issue 17, items 2–4): what `FileIO.writeAtomically` and `LineWriter` do
// with targets that are not plain files, a full disk, and `--resume` over a finished run.

private let isRoot = getuid() == 0

/// The device number of /dev/null, for a device node of our own (`mknod`, root only).
private let nullDevice: dev_t = {
    var st = stat()
    return stat("/dev/null", &st) == 0 ? st.st_rdev : 0
}()

/// One entry of a directory tree as `lstat` sees it: type, size, link target, content.
private struct Entry: Equatable, CustomStringConvertible {
    var kind: mode_t
    var link: String?
    var bytes: [UInt8]?
    var description: String { "kind \(String(kind, radix: 8)) link \(link ?? "-") \(bytes.map { "\($0.count) bytes" } ?? "")" }
}

/// Every file, link, directory and special file under `dir` (links are not followed).
private func snapshot(_ dir: String) -> [String: Entry] {
    var out: [String: Entry] = [:]
    func walk(_ rel: String) {
        let path = rel.isEmpty ? dir : dir + "/" + rel
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        let kind = st.st_mode & S_IFMT
        var e = Entry(kind: kind, link: nil, bytes: nil)
        if kind == S_IFLNK { e.link = try? FileManager.default.destinationOfSymbolicLink(atPath: path) }
        if kind == S_IFREG { e.bytes = try? FileIO.read(path) }
        out[rel] = e
        if kind == S_IFDIR {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                walk(rel.isEmpty ? name : rel + "/" + name)
            }
        }
    }
    walk("")
    return out
}

/// The paths whose entry differs between two snapshots, minus those under `allowed` prefixes.
private func changes(_ a: [String: Entry], _ b: [String: Entry], allowed: [String]) -> [String] {
    Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }
        .filter { p in !allowed.contains { p == $0 || p.hasPrefix($0 + "/") } }.sorted()
}

private func kind(_ path: String) -> mode_t? {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : nil
}

private let oneEpoch = ["--quiet", "--set", "training.epochs=1"]

// MARK: - writeAtomically on what is not a plain file (item 3)

@Test func atomicWriteFollowsSymlinkAndKeepsIt() throws {
    let dir = tempDir("ws-link")
    try FileIO.makeDirectories(dir + "/real")
    try FileIO.writeAtomically(dir + "/real/target.json", text: "old\n")
    symlink("real/target.json", dir + "/link.json")
    try FileIO.writeAtomically(dir + "/link.json", text: "new\n")
    #expect(kind(dir + "/link.json") == S_IFLNK, "the link was replaced by a file")
    #expect(try read(dir + "/real/target.json") == "new\n")
    // No temporary file is left behind, neither beside the link nor beside the target.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["link.json", "real"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/real") == ["target.json"])
}

@Test func atomicWriteRefusesWhatItCannotReplace() throws {
    let dir = tempDir("ws-refuse")
    try FileIO.makeDirectories(dir + "/adir")
    symlink("missing/x.json", dir + "/dangling.json")
    symlink("adir", dir + "/dirlink")
    mkfifo(dir + "/fifo", 0o644)
    let before = snapshot(dir)
    let cases: [(String, String)] = [
        ("", "\"\": is not a file name (an empty path, or one ending in /, . or ..)"),
        (dir + "/adir/", dir + "/adir/: is not a file name (an empty path, or one ending in /, . or ..)"),
        (dir + "/adir/..", dir + "/adir/..: is not a file name (an empty path, or one ending in /, . or ..)"),
        (dir + "/adir", dir + "/adir: is a directory, not a file"),
        (dir + "/dirlink", dir + "/dirlink: is a directory, not a file"),
        (dir + "/dangling.json", dir + "/dangling.json: is a symbolic link to missing/x.json, which does not exist; refusing to create it"),
        (dir + "/fifo", dir + "/fifo: is a FIFO that nobody reads"),
    ]
    for (path, message) in cases {
        do {
            try FileIO.writeAtomically(path, text: "x\n")
            Issue.record("\(path): written")
        } catch {
            #expect(error.description == message)
        }
    }
    #expect(changes(before, snapshot(dir), allowed: []) == [])
}

@Test func atomicWriteGoesThroughToDevicesAndFIFOs() throws {
    let dir = tempDir("ws-device")
    try FileIO.makeDirectories(dir)
    // A FIFO with a reader gets the bytes and stays a FIFO.
    mkfifo(dir + "/fifo", 0o644)
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: "/bin/cat")
    reader.arguments = [dir + "/fifo"]
    let pipe = Pipe()
    reader.standardOutput = pipe
    try reader.run()
    var written = false
    for _ in 0..<500 where !written {   // until cat has opened its end
        do { try FileIO.writeAtomically(dir + "/fifo", text: "{\"a\": 1}\n"); written = true } catch {
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
    let got = pipe.fileHandleForReading.readDataToEndOfFile()
    reader.waitUntilExit()
    #expect(written && String(decoding: got, as: UTF8.self) == "{\"a\": 1}\n")
    #expect(kind(dir + "/fifo") == S_IFIFO)
    // /dev/full (a node of our own as root): a device written through reports its error (no
    // space) instead of being renamed over.
    var st = stat()
    let full = isRoot && stat("/dev/full", &st) == 0 && mknod(dir + "/full", S_IFCHR | 0o666, st.st_rdev) == 0 ? dir + "/full" : "/dev/full"
    do { try FileIO.writeAtomically(full, text: "x\n"); Issue.record("\(full) accepted a write") } catch {
        #expect(error.description == "\(full): No space left on device")
    }
    #expect(kind(full) == S_IFCHR)
}

@Test func lineWriterReportsAFailedRow() throws {
    let w = try LineWriter(path: "/dev/full", append: true)
    #expect(throws: FileError.self) { try w.write("1,2,3") }
}

@Test func resultJSONOnADeviceOrSymlinkKeepsIt() throws {
    let dir = tempDir("ws-result")
    try FileIO.makeDirectories(dir)
    // A character device of our own (the same as /dev/null): today's rename would turn it into
    // a file; without root, /dev/null itself (where a rename fails and so cannot harm).
    let device = isRoot && mknod(dir + "/null", S_IFCHR | 0o666, nullDevice) == 0 ? dir + "/null" : "/dev/null"
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir + "/run", "--result-json", device] + oneEpoch)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(kind(device) == S_IFCHR, "\(device) is no longer a device")
    try FileIO.writeAtomically(dir + "/target.json", text: "old\n")
    symlink("target.json", dir + "/link.json")
    let l = try nntrain(["run", "configs/quickstart.json", "--out", dir + "/run2", "--result-json", dir + "/link.json"] + oneEpoch)
    #expect(l.status == 0, "\(l.stderr)")
    #expect(kind(dir + "/link.json") == S_IFLNK)
    #expect(try read(dir + "/target.json").contains("\"metric\": \"val_loss\""))
}

@Test func resultJSONToStdoutGoesToTheShellsFile() throws {
    // `--result-json /dev/fd/1 > out.json`: the JSON lands in the file the shell opened (a
    // rename would have to replace /dev/fd/1 itself).
    let dir = tempDir("ws-fd1")
    try FileIO.makeDirectories(dir)
    try FileIO.writeAtomically(dir + "/out.json", text: "")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir + "/run", "--result-json", "/dev/fd/1"] + oneEpoch,
                        stdoutTo: dir + "/out.json")
    #expect(r.status == 0, "\(r.stderr)")
    let json = try JSONValue.parse(try FileIO.read(dir + "/out.json"))
    #expect(json["metric"] == .string("val_loss") && json["status"] == .string("completed"))
}

// MARK: - Empty paths (item 2) and stdout (item 4)

@Test func sweepPlanEmptyOutIsAUsageError() throws {
    let r = try nntrain(["sweep", "plan", "configs/quickstart.json", "--param", "optimizer.lr=log:1e-4:1e-2",
                         "--trials", "2", "--out", "", "--quiet"])
    #expect(r.status == 2, "\(r.stderr)")
    #expect(r.stderr.contains("--out: an empty path is not a directory"))
}

@Test func jsonToAFullStdoutFails() throws {
    let dir = tempDir("ws-full-stdout")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--json", "--set", "training.epochs=1"], stdoutTo: "/dev/full")
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stderr.contains("error: cannot write the results to standard output: No space left on device"))
}

// MARK: - --resume never discards a finished run (item 4)

@Test func resumeWithoutCheckpointKeepsAFinishedRun() throws {
    let dir = tempDir("ws-finished")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir] + oneEpoch)
    #expect(r.status == 0, "\(r.stderr)")
    FileIO.remove(dir + "/" + "checkpoint/checkpoint.safetensors")
    let before = snapshot(dir)
    let again = try nntrain(["run", "--resume", dir, "--quiet"])
    #expect(again.status == 2)
    #expect(again.stderr.contains("\(dir) has no checkpoint to continue from, but holds the results of a run (summary.json, model.safetensors, curves.csv with 1 epoch); nothing was changed. Pass --force"))
    #expect(changes(before, snapshot(dir), allowed: [".lock"]) == [])
    // With --force it trains again from the beginning.
    let forced = try nntrain(["run", "--resume", dir, "--force", "--quiet"])
    #expect(forced.status == 0, "\(forced.stderr)")
}

@Test func resumeDropsOnlyRowsBeyondTheCheckpoint() throws {
    let dir = tempDir("ws-rows-kept")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=2"])
    #expect(r.status == 0, "\(r.stderr)")
    // A line that is no row of ours (written by hand) and a row past the checkpoint (epoch 3).
    var lines = try read(dir + "/curves.csv").split(separator: "\n").map(String.init)
    lines.insert("a note", at: 1)
    lines.append("3,129,0.0005,9.9,0.1,9.9,0.1,0.0")
    try FileIO.writeAtomically(dir + "/curves.csv", text: lines.joined(separator: "\n") + "\n")
    let resumed = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=3"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let after = try read(dir + "/curves.csv").split(separator: "\n").map(String.init)
    #expect(after.count == 5 && Array(after[0..<4]) == Array(lines[0..<4]), "\(after)")
    #expect(after.last?.hasPrefix("3,129,") == true && after.last != lines.last, "\(after)")
}

@Test func fileSizeLimitIsAWriteError() throws {
    // `ulimit -f 1000` (1000 KiB): the 1.2 MB checkpoint does not fit. SIGXFSZ killed the run.
    let dir = tempDir("ws-ulimit-f")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "ulimit -f 1000 && exec \"$0\" \"$@\"", binary, "run", "configs/quickstart.json", "--out", dir] + oneEpoch
    p.currentDirectoryURL = URL(fileURLWithPath: root)
    let err = Pipe()
    p.standardError = err
    try p.run()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationReason == .exit && p.terminationStatus == 1, "\(stderr)")
    #expect(stderr.contains("cannot write \(dir)/checkpoint/checkpoint.safetensors: File too large"), "\(stderr)")
}

// MARK: - Full disk (item 4): a small tmpfs, root only

/// Mounts a tmpfs of `size` at a fresh directory for `body`, unmounting after; nil (with the
/// reason printed) where that is not possible.
private func withTmpfs(_ name: String, size: String, _ body: (String) throws -> Void) throws {
    let dir = tempDir(name)
    try FileIO.makeDirectories(dir)
    guard isRoot else { print("skipped \(name): mounting a tmpfs needs root"); return }
    let mount = Process()
    mount.executableURL = URL(fileURLWithPath: "/bin/mount")
    mount.arguments = ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", dir]
    try mount.run()
    mount.waitUntilExit()
    guard mount.terminationStatus == 0 else { print("skipped \(name): mount -t tmpfs failed"); return }
    defer {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = [dir]
        try? umount.run()
        umount.waitUntilExit()
    }
    try body(dir)
}

private func remount(_ dir: String, size: String) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/mount")
    p.arguments = ["-o", "remount,size=\(size)", dir]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
}

@Test func fullDiskKeepsTheLastCheckpoint() throws {
    // 2 MB: the checkpoint of epoch 1 (1.2 MB) fits; epoch 2's (a second copy, then a rename) does not.
    try withTmpfs("ws-2mb", size: "2m") { mnt in
        let dir = mnt + "/run"
        let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=4"], timeout: 120)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("cannot write \(dir)/checkpoint/checkpoint.safetensors: No space left on device; the run stopped after epoch 2 (step 86). \(dir)/checkpoint/checkpoint.safetensors holds the state after epoch 1 (step 43); free some space and continue with `nntrain run --resume \(dir)`."))
        #expect(!FileIO.exists(dir + "/summary.json"), "a summary claims the run ended")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoint") == ["checkpoint.safetensors"])
        try expectIntact(dir, "after the full disk")
        try remount(mnt, size: "16m")
        let resumed = try nntrain(["run", "--resume", dir, "--quiet"], timeout: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let rows = try read(dir + "/curves.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",").first.map(String.init) }
        #expect(rows == ["1", "2", "3", "4"])
        #expect(try read(dir + "/summary.json").contains("\"stop_reason\": \"completed\""))
    }
}

@Test func fullDiskBeforeTheFirstCheckpoint() throws {
    // 1 MB: not even the first checkpoint fits.
    try withTmpfs("ws-1mb", size: "1m") { mnt in
        let dir = mnt + "/run"
        let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=4"], timeout: 120)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("cannot write \(dir)/checkpoint/checkpoint.safetensors: No space left on device; the run stopped after epoch 1 (step 43). No checkpoint was written"))
        #expect(!FileIO.exists(dir + "/summary.json"))
        // Nothing to continue from: --resume refuses to start over unasked.
        let again = try nntrain(["run", "--resume", dir, "--quiet"], timeout: 120)
        #expect(again.status == 2, "\(again.stderr)")
        #expect(again.stderr.contains("has no checkpoint to continue from"))
        try remount(mnt, size: "16m")
        let forced = try nntrain(["run", "--resume", dir, "--force", "--quiet"], timeout: 120)
        #expect(forced.status == 0, "\(forced.stderr)")
    }
}

@Test func fullDiskOnTheCSVRows() throws {
    // The disk fills up (someone else's file) right after the first checkpoint: the next
    // steps.csv row that needs a new page fails, and the run must stop, not drop rows.
    try withTmpfs("ws-rows", size: "4m") { mnt in
        let dir = mnt + "/run"
        let filler = mnt + "/filler"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=6",
                       "--set", "training.batch_size=4", "--set", "training.log_every=1"]
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        var env = ProcessInfo.processInfo.environment
        env["NNTRAIN_THREADS"] = "1"
        p.environment = env
        let err = Pipe()
        p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileIO.exists(dir + "/checkpoint/checkpoint.safetensors") && p.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.002)
        }
        let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
        var chunk = [UInt8](repeating: 1, count: 4096)
        while write(fd, &chunk, chunk.count) > 0 {}
        close(fd)
        let pid = p.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 120) { kill(pid, SIGKILL) }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 1, "\(stderr)")
        // A row needs a new page every ~80 steps (675 a epoch), so a row fails before the next
        // checkpoint, whichever epoch the filler catches (on a slow machine, a later one).
        #expect(stderr.contains("cannot write \(dir)/steps.csv: No space left on device")
                || stderr.contains("cannot write \(dir)/curves.csv: No space left on device"), "\(stderr)")
        #expect(stderr.contains("\(dir)/checkpoint/checkpoint.safetensors holds the state after epoch "), "\(stderr)")
        #expect(!FileIO.exists(dir + "/summary.json"))
        try expectIntact(dir, "after the full disk")
        FileIO.remove(filler)
        let resumed = try nntrain(["run", "--resume", dir, "--quiet"], timeout: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        // Every step's row, once, in order: none dropped by the failure.
        let steps = try read(dir + "/steps.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",").first.map(String.init) }
        #expect(steps == (1...4050).map { String($0) })
        let epochs = try read(dir + "/curves.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",").first.map(String.init) }
        #expect(epochs == ["1", "2", "3", "4", "5", "6"])
    }
}

// MARK: - Corpus: write targets (Keep it fixed)

/// A place to write, made fresh inside `work/` of a test root; `sentinel/` beside it must
/// never change. `made` is what the target resolves to and may change (nil: nothing may).
private struct WriteTarget {
    var name: String
    var path: String
    var allowed: [String]
}

/// Builds the named write target under `base` (`work/` and `sentinel/` exist).
private func makeTarget(_ kindName: String, base: String, forDirectory: Bool) -> WriteTarget? {
    let work = base + "/work"
    switch kindName {
    case "symlink-to-file":
        try? FileIO.writeAtomically(work + "/file.json", text: "old\n")
        symlink("file.json", work + "/t")
        return WriteTarget(name: kindName, path: work + "/t", allowed: forDirectory ? [] : ["work/file.json"])
    case "symlink-to-directory":
        try? FileIO.makeDirectories(work + "/realdir")
        symlink(forDirectory ? "realdir" : "../sentinel", work + "/t")
        return WriteTarget(name: kindName, path: work + "/t", allowed: forDirectory ? ["work/realdir"] : [])
    case "dangling-symlink":
        symlink("../sentinel/missing", work + "/t")
        return WriteTarget(name: kindName, path: work + "/t", allowed: [])
    case "device":
        if isRoot && mknod(work + "/t", S_IFCHR | 0o666, nullDevice) == 0 {
            return WriteTarget(name: kindName, path: work + "/t", allowed: [])
        }
        return WriteTarget(name: kindName, path: "/dev/null", allowed: [])
    case "fifo":
        mkfifo(work + "/t", 0o644)
        return WriteTarget(name: kindName, path: work + "/t", allowed: [])
    case "directory":
        try? FileIO.makeDirectories(work + "/t/inner")
        return WriteTarget(name: kindName, path: work + "/t", allowed: forDirectory ? ["work/t"] : [])
    case "file":
        try? FileIO.writeAtomically(work + "/t", text: "a file\n")
        return WriteTarget(name: kindName, path: work + "/t", allowed: forDirectory ? [] : ["work/t"])
    case "read-only-directory":
        guard !isRoot else { return nil }
        try? FileIO.makeDirectories(work + "/ro")
        chmod(work + "/ro", 0o555)
        return WriteTarget(name: kindName, path: work + "/ro/t", allowed: [])
    case "dot-dot":
        try? FileIO.makeDirectories(work + "/sub")
        return WriteTarget(name: kindName, path: work + "/sub/../t", allowed: ["work/t"])
    case "trailing-slash":
        return WriteTarget(name: kindName, path: work + "/t/", allowed: forDirectory ? ["work/t"] : [])
    default:
        return nil
    }
}

private let targetKinds = ["symlink-to-file", "symlink-to-directory", "dangling-symlink", "device", "fifo", "directory",
                           "file", "read-only-directory", "dot-dot", "trailing-slash"]

/// The documented outcome of writing a run (`--out`, `output.dir`) or a result (`--result-json`)
/// to each kind of target: exit 0 where the target can take it, else 1 (the run directory or the
/// result file cannot be written). A `--result-json` that is a directory or lies in a folder that
/// does not exist or cannot be written is refused before training, as a usage error (2).
private func expectedStatus(_ kind: String, option: String) -> Int32 {
    if option == "--result-json" {
        if ["symlink-to-directory", "directory", "trailing-slash", "read-only-directory"].contains(kind) { return 2 }
        return ["symlink-to-file", "device", "fifo", "file", "dot-dot"].contains(kind) ? 0 : 1
    }
    return ["symlink-to-directory", "directory", "dot-dot", "trailing-slash"].contains(kind) ? 0 : 1
}

@Test(arguments: ["--result-json", "--out", "output.dir"])
func writeTargetCorpus(option: String) throws {
    let base = tempDir("ws-corpus-\(option.filter { $0.isLetter })")
    for kindName in targetKinds {
        try? FileManager.default.removeItem(atPath: base)
        try FileIO.makeDirectories(base + "/work")
        try FileIO.makeDirectories(base + "/sentinel/deeper")
        try FileIO.writeAtomically(base + "/sentinel/a.json", text: "{\"keep\": 1}\n")
        try FileIO.writeAtomically(base + "/sentinel/deeper/b.csv", text: "x,y\n1,2\n")
        guard let target = makeTarget(kindName, base: base, forDirectory: option != "--result-json") else {
            print("skipped \(kindName) for \(option): a read-only directory does not stop root"); continue
        }
        let before = snapshot(base)
        let fifoReader: Process?
        if kindName == "fifo" && option == "--result-json" {
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/bin/sh")
            reader.arguments = ["-c", "exec cat \"$0\" > /dev/null", target.path]
            try reader.run()
            Thread.sleep(forTimeInterval: 0.1)   // let it open its end
            fifoReader = reader
        } else {
            fifoReader = nil
        }
        var args = ["run", "configs/quickstart.json"] + oneEpoch
        var runDir = "work/run"
        switch option {
        case "--result-json": args += ["--out", base + "/work/run", "--result-json", target.path]
        case "--out": args += ["--out", target.path]; runDir = ""
        default: args += ["--set", "output.dir=\(target.path)"]; runDir = ""
        }
        let r = try nntrain(args, timeout: 60)
        if let fifoReader {
            if fifoReader.isRunning { kill(fifoReader.processIdentifier, SIGKILL) }
            fifoReader.waitUntilExit()
        }
        let context = "\(kindName) as \(option) (\(target.path))"
        #expect(r.status < 128, "\(context): killed by signal \(r.status - 128)")
        #expect(r.status == expectedStatus(kindName, option: option), "\(context): exit \(r.status)\n\(r.stderr)")
        if r.status != 0 {
            #expect(r.stderr.contains(target.path) || r.stderr.contains(String(target.path.dropLast())), "\(context): the message names no path\n\(r.stderr)")
        }
        let allowed = target.allowed + (runDir.isEmpty ? [] : [runDir])
        #expect(changes(before, snapshot(base), allowed: allowed) == [], "\(context): changed outside the run directory")
        if kindName == "symlink-to-file" || kindName == "symlink-to-directory" || kindName == "dangling-symlink" {
            #expect(kind(target.path) == S_IFLNK, "\(context): the link was replaced")
        }
        if kindName == "device" { #expect(kind(target.path) == S_IFCHR, "\(context): the device was replaced") }
        if kindName == "fifo" { #expect(kind(target.path) == S_IFIFO, "\(context): the FIFO was replaced") }
        chmod(base + "/work/ro", 0o755)
    }
}

/// A random path under `work/`: nested folders, `.`/`..` parts, trailing slashes, long names,
/// chains of links (to files, folders, nothing, the sentinel), FIFOs and devices.
@Test func writeTargetCorpusGenerated() throws {
    let env = ProcessInfo.processInfo.environment
    let count = env["NNTRAIN_FUZZ_FILES"].flatMap { Int($0) } ?? 200
    var rng = SplitMix64(seed: env["NNTRAIN_FUZZ_SEED"].flatMap { UInt64($0) } ?? 17)
    let base = tempDir("ws-generated")
    try? FileManager.default.removeItem(atPath: base)
    try FileIO.makeDirectories(base + "/work")
    try FileIO.makeDirectories(base + "/sentinel/deeper")
    try FileIO.writeAtomically(base + "/sentinel/a.json", text: "{\"keep\": 1}\n")
    try FileIO.writeAtomically(base + "/sentinel/deeper/b.csv", text: "x,y\n")
    let sentinel = snapshot(base + "/sentinel")
    func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
    var written = 0, refused = 0
    for i in 0..<count {
        let dir = base + "/work/\(i)"
        try FileIO.makeDirectories(dir + "/sub")
        let name = pick(["r.json", "x", String(repeating: "n", count: Int(rng.next() % 300) + 1), "a b.json", ".hidden"])
        var path = dir + "/" + pick(["", "sub/", "sub/../", "./", "sub/./", "missing/"]) + name
        switch rng.next() % 9 {
        case 0: symlink(dir + "/real", path); if rng.next() % 2 == 0 { try? FileIO.writeAtomically(dir + "/real", text: "old") }
        case 1: symlink(base + "/sentinel", path)
        case 2: symlink(base + "/sentinel/missing-\(i)", path)
        case 3: mkfifo(path, 0o644)
        case 4: try? FileIO.makeDirectories(path)
        case 5: path += pick(["/", "/.", "/..", "//"])
        case 6: symlink(path, path)   // a loop
        case 7: if isRoot { mknod(path, S_IFCHR | 0o666, nullDevice) }
        default: break
        }
        let text = "{\"trial\": \(i)}\n"
        let wasLink = kind(path) == S_IFLNK
        do {
            if rng.next() % 4 == 0 {
                let w = try LineWriter(path: path, append: rng.next() % 2 == 0)
                try w.write(text)
            } else {
                try FileIO.writeAtomically(path, text: text)
            }
            written += 1
            #expect(!wasLink || kind(path) == S_IFLNK, "\(path): the link was replaced")
        } catch {
            refused += 1
            #expect(error.path.hasPrefix(dir) || error.path == "\"\"", "\(path): \(error) names another path")
        }
        // No temporary file is ever left, in the folder or beside a link's target.
        let left = (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).filter { $0.contains(".tmp-") }
        #expect(left == [], "\(path): left \(left)")
    }
    #expect(changes(sentinel, snapshot(base + "/sentinel"), allowed: []) == [], "the sentinel directory changed")
    #expect(written > 0 && refused > 0)
    print("writeTargetCorpusGenerated: \(count) targets, \(written) written, \(refused) refused")
}
