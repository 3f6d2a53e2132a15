import Foundation
import Testing

// The layout rules of README "Architecture", checked on the sources themselves.

/// The NNTrain folders from the bottom up: a file may use what its own folder and the folders
/// before it declare, never what a later folder declares.
let folderOrder = ["Config", "Layers", "Losses", "Optimizers", "Schedules", "Data", "Training", "Inference", "Report", "Sweep"]

/// A source file's text without comments and string literals (so that a type named in a doc
/// comment or a message is not a use).
func codeOnly(_ text: String) -> String {
    var out = "", i = text.startIndex
    func at(_ s: String) -> Bool { text[i...].hasPrefix(s) }
    while i < text.endIndex {
        if at("//") {
            i = text[i...].firstIndex(of: "\n") ?? text.endIndex
        } else if at("/*") {
            i = text[text.index(i, offsetBy: 2)...].range(of: "*/")?.upperBound ?? text.endIndex
        } else if at("\"\"\"") {
            i = text[text.index(i, offsetBy: 3)...].range(of: "\"\"\"")?.upperBound ?? text.endIndex
            out += "\"\""
        } else if text[i] == "\"" {
            var j = text.index(after: i)
            while j < text.endIndex && text[j] != "\"" && text[j] != "\n" {
                j = text.index(j, offsetBy: text[j] == "\\" && text.index(after: j) < text.endIndex ? 2 : 1)
            }
            i = j < text.endIndex ? text.index(after: j) : j
            out += "\"\""
        } else {
            out.append(text[i])
            i = text.index(after: i)
        }
    }
    return out
}

/// Names declared at the top level of a file: types, protocols, type aliases and functions.
func topLevelDeclarations(_ code: String) -> [(name: String, isFunction: Bool)] {
    let keywords: Set<Substring> = ["struct", "class", "enum", "protocol", "typealias", "func"]
    let modifiers: Set<Substring> = ["public", "internal", "private", "fileprivate", "final", "indirect", "@usableFromInline", "@inlinable"]
    var out: [(String, Bool)] = []
    for line in code.split(separator: "\n") where !line.hasPrefix(" ") && !line.hasPrefix("\t") {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == "<" || $0 == ":" || $0 == "{" })
        guard let k = words.firstIndex(where: { !modifiers.contains($0) }), keywords.contains(words[k]), k + 1 < words.count else { continue }
        out.append((String(words[k + 1]), words[k] == "func"))
    }
    return out
}

func isIdentifierCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

/// Whether `code` uses `name` as a whole identifier (followed by "(" for a function).
func uses(_ code: String, _ name: String, function: Bool) -> Bool {
    var search = code.startIndex..<code.endIndex
    while let r = code.range(of: name, range: search) {
        search = r.upperBound..<code.endIndex
        if r.lowerBound > code.startIndex, isIdentifierCharacter(code[code.index(before: r.lowerBound)]) { continue }
        if r.upperBound < code.endIndex, isIdentifierCharacter(code[r.upperBound]) { continue }
        if function, !code[r.upperBound...].drop(while: { $0 == " " }).hasPrefix("(") { continue }
        return true
    }
    return false
}

func swiftFiles(_ directory: String) -> [String] {
    ((try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".swift") }.sorted()
}

@Test func noSourceFileIsLongerThan400Lines() throws {
    let sources = repositoryRoot + "Sources"
    let files = swiftFiles(sources)
    #expect(files.count > 50)
    var long: [String] = []
    for f in files {
        let lines = try String(contentsOfFile: sources + "/" + f, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).count - 1
        if lines > 400 { long.append("Sources/\(f): \(lines) lines") }
    }
    #expect(long.isEmpty, "files over 400 lines:\n\(long.joined(separator: "\n"))")
}

@Test func nntrainFoldersOnlyUseTheFoldersBelowThem() throws {
    let base = repositoryRoot + "Sources/NNTrain/"
    var code: [(folder: String, file: String, text: String)] = []
    var declaredIn: [String: (folders: Set<String>, isFunction: Bool)] = [:]
    for f in swiftFiles(base) {
        let folder = String(f.prefix { $0 != "/" })
        try #require(folderOrder.contains(folder), "Sources/NNTrain/\(f): folder \(folder) is not in the layering (README, Architecture)")
        let text = codeOnly(try String(contentsOfFile: base + f, encoding: .utf8))
        code.append((folder, f, text))
        for d in topLevelDeclarations(text) { declaredIn[d.name, default: ([], d.isFunction)].folders.insert(folder) }
    }
    #expect(declaredIn.count > 100)
    var upward: [String] = []
    for (folder, file, text) in code {
        let level = folderOrder.firstIndex(of: folder)!
        for (name, d) in declaredIn {
            // Declared in this folder or one below it: fine wherever else it is also declared.
            if d.folders.contains(where: { folderOrder.firstIndex(of: $0)! <= level }) { continue }
            if uses(text, name, function: d.isFunction) {
                upward.append("Sources/NNTrain/\(file) uses \(name) from \(d.folders.sorted().joined(separator: ", ")), above \(folder)")
            }
        }
    }
    #expect(upward.isEmpty, "uses of a higher folder (order: \(folderOrder.joined(separator: " ← "))):\n\(upward.sorted().joined(separator: "\n"))")
}

/// The checker itself finds a use across folders, and skips comments and strings.
@Test func layoutCheckerSeesUsesButNotComments() {
    let text = codeOnly("let a = Conv2D(x) // Trainer\nlet s = \"RunFiles\"\nf(ModelPlan.self)")
    #expect(uses(text, "Conv2D", function: false) && uses(text, "ModelPlan", function: false))
    #expect(!uses(text, "Trainer", function: false) && !uses(text, "RunFiles", function: false))
    #expect(!uses("let convolution = 1", "Conv", function: false))
    #expect(topLevelDeclarations("public final class Dense: Layer {\n    func inner() {}\n}\nfunc fmt(_ x: Double)").map(\.name) == ["Dense", "fmt"])
}

/// Each target imports only the targets below it: CSupport ← NNCore ← NNTrain ← nntrain (C code
/// is reached through NNCore, never from NNTrain or the CLI directly).
@Test func targetsImportOnlyTheTargetsBelowThem() throws {
    let project: Set<String> = ["CSupport", "CBLAS", "CZlib", "NNCore", "NNTrain"]
    let allowed: [String: Set<String>] = [
        "NNCore": ["CSupport", "CBLAS"],
        "NNTrain": ["NNCore", "CZlib"],
        "nntrain": ["NNCore", "NNTrain"],
    ]
    var wrong: [String] = []
    for (target, modules) in allowed {
        let dir = repositoryRoot + "Sources/" + target + "/"
        for f in swiftFiles(dir) {
            for line in try String(contentsOfFile: dir + f, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
                      words[..<i].allSatisfy({ $0.hasPrefix("@") || ["internal", "public", "private"].contains($0) }) else { continue }
                let module = String(words[i + 1])
                if project.contains(module) && !modules.contains(module) { wrong.append("Sources/\(target)/\(f): import \(module)") }
            }
        }
    }
    #expect(wrong.isEmpty, "imports across the layering:\n\(wrong.joined(separator: "\n"))")
}

/// One layer, one file: each layer class lives in the file named after it, with its spec (the
/// `LayerKind` registered in `LayerSpec.kinds`).
@Test func eachLayerLivesInTheFileNamedAfterIt() throws {
    let dir = repositoryRoot + "Sources/NNTrain/Layers/"
    var layers: [String] = [], wrong: [String] = []
    for f in swiftFiles(dir) {
        let code = codeOnly(try String(contentsOfFile: dir + f, encoding: .utf8))
        for line in code.split(separator: "\n") where line.hasPrefix("public final class ") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == ":" || $0 == "," || $0 == "{" })
            guard words.count > 4, words[4] == "Layer" || words[4] == "SeededLayer" else { continue }
            layers.append(String(words[3]))
            if f != words[3] + ".swift" { wrong.append("\(words[3]) is in Layers/\(f)") }
            if !code.contains("Spec: LayerKind {") { wrong.append("Layers/\(f) declares no spec (a LayerKind)") }
        }
    }
    #expect(layers.count >= 15, "\(layers)")
    #expect(wrong.isEmpty, "\(wrong)")
}
