import NNCore
import Testing

@Test func parsesAndKeepsKeyOrder() throws {
    let v = try JSONValue.parse(#"{"b": 1, "a": [true, null, "x\n\u00e9"], "c": {"d": -2.5e-3}}"#)
    guard case .object(let pairs) = v else { Issue.record("not an object"); return }
    #expect(pairs.map(\.0) == ["b", "a", "c"])
    #expect(v["a"] == .array([.bool(true), .null, .string("x\né")]))
    #expect(v["c"]?["d"] == .number(-0.0025))
}

@Test func serializationRoundTrips() throws {
    let text = #"{"name": "q", "n": [1, 2.5, -3], "nested": {"empty": [], "s": "a\"b"}}"#
    let v = try JSONValue.parse(text)
    #expect(try JSONValue.parse(v.serialized()) == v)
    #expect(try JSONValue.parse(v.serialized(indent: 0)) == v)
    #expect(JSONValue.number(3).serialized() == "3")
    #expect(JSONValue.number(0.001).serialized() == "0.001")
}

@Test(arguments: [
    ("", "empty document"),
    ("{", "end of input"),
    ("{\"a\" 1}", "expected ':'"),
    ("[1,]", "expected a value"),
    ("01", "leading zero"),
    ("{\"a\": tru}", "invalid literal"),
    ("\"abc", "unterminated string"),
    ("[1] 2", "after the JSON value"),
    ("{\"a\": 1,}", "expected a quoted key"),
])
func syntaxErrorsAreReported(text: String, fragment: String) {
    do {
        _ = try JSONValue.parse(text)
        Issue.record("parsed \(text)")
    } catch {
        #expect(error.description.contains(fragment), "\(error)")
    }
}

@Test func errorPositionIsLineAndColumn() {
    do { _ = try JSONValue.parse("{\n  \"a\": 1,\n  \"b\": x\n}") } catch {
        #expect(error.line == 3 && error.column == 8, "\(error)")
    }
}

@Test func deepNestingIsRefused() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(throws: JSONSyntaxError.self) { _ = try JSONValue.parse(deep) }
    #expect((try? JSONValue.parse(String(repeating: "[", count: 50) + String(repeating: "]", count: 50))) != nil)
}

@Test func invalidUTF8IsRefused() {
    let bytes: [UInt8] = Array("{\"a\": \"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8)
    #expect(throws: JSONSyntaxError.self) { _ = try JSONValue.parse(bytes) }
}
