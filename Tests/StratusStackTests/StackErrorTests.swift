import Foundation
import Testing

@testable import StratusStack

@Suite struct StackErrorTests {
    static let header = "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n"

    @Test func descriptionHasFileLineColumnField() {
        let full = StackError(file: "stack.yml", line: 7, column: 5, field: "functions.hello.langg", message: "unknown field")
        #expect(full.description == "stack.yml:7:5: functions.hello.langg: unknown field")
        #expect(StackError(file: "a.yml", line: 3, message: "m").description == "a.yml:3: m")
        #expect(StackError(file: "a.yml", message: "no such file").description == "a.yml: no such file")
    }

    @Test func unknownFunctionFieldSuggestsTheKnownOne() throws {
        let error = try #require(parseError(Self.header + "  hello:\n    langg: go\n    handler: ./hello\n"))
        #expect(error == StackError(
            file: "stack.yml", line: 6, column: 5, field: "functions.hello.langg",
            message: "unknown field (did you mean `lang`?)"))
        #expect(error.description == "stack.yml:6:5: functions.hello.langg: unknown field (did you mean `lang`?)")
    }

    @Test func suggestionsCoverCommonSlips() {
        let fields = StackDecoder.functionFields
        #expect(suggestion(for: "handlr", among: fields) == "handler")
        #expect(suggestion(for: "enviroment", among: fields) == "environment")
        #expect(suggestion(for: "env", among: fields) == "environment")
        #expect(suggestion(for: "skip-build", among: fields) == "skip_build")
        #expect(suggestion(for: "readOnlyRootFilesystem", among: fields) == "readonly_root_filesystem")
        #expect(suggestion(for: "secret", among: fields) == "secrets")
        #expect(suggestion(for: "lnag", among: fields) == "lang")
        #expect(suggestion(for: "replicas", among: fields) == nil)
    }

    @Test func unknownTopLevelAndProviderFields() throws {
        let top = try #require(parseError("version: 1.0\nprovider:\n  name: openfaas\nfunction:\n  f: {}\n"))
        #expect(top.description == "stack.yml:4:1: function: unknown field (did you mean `functions`?)")
        let provider = try #require(parseError("version: 1.0\nprovider:\n  name: openfaas\n  gatway: http://x\n"))
        #expect(provider.description == "stack.yml:4:3: provider.gatway: unknown field (did you mean `gateway`?)")
        let far = try #require(parseError("version: 1.0\nprovider:\n  name: openfaas\nx-extra: 1\n"))
        #expect(far.description
            == "stack.yml:4:1: x-extra: unknown field (known fields: version, provider, functions, configuration)")
    }

    @Test func unknownNestedFields() throws {
        let limits = try #require(parseError(Self.header + "  f:\n    limits:\n      memroy: 1Gi\n"))
        #expect(limits.description == "stack.yml:7:7: functions.f.limits.memroy: unknown field (did you mean `memory`?)")
        let template = try #require(parseError(
            "version: 1.0\nprovider: {name: openfaas}\nconfiguration:\n  templates:\n    - name: go\n      sorce: x\n"))
        #expect(template.description
            == "stack.yml:6:7: configuration.templates[0].sorce: unknown field (did you mean `source`?)")
    }

    @Test func wrongTypesNameTheField() throws {
        let list = try #require(parseError(Self.header + "  f:\n    environment:\n      - A=1\n"))
        #expect(list.description == "stack.yml:7:7: functions.f.environment: expected a mapping, found a list")
        let scalar = try #require(parseError(Self.header + "  f:\n    secrets: db-password\n"))
        #expect(scalar.description
            == "stack.yml:6:14: functions.f.secrets: expected a list of strings, found the string `db-password`")
        let nested = try #require(parseError(Self.header + "  f:\n    lang: [go]\n"))
        #expect(nested.description == "stack.yml:6:11: functions.f.lang: expected a string, found a list")
        let bool = try #require(parseError(Self.header + "  f:\n    skip_build: \"true\"\n"))
        #expect(bool.description == "stack.yml:6:17: functions.f.skip_build: expected true or false, found the string `true`")
        let envValue = try #require(parseError(Self.header + "  f:\n    environment:\n      A: {b: 1}\n"))
        #expect(envValue.description == "stack.yml:7:10: functions.f.environment.A: expected a string, found a mapping")
        let functions = try #require(parseError("version: 1.0\nprovider: {name: openfaas}\nfunctions: [a, b]\n"))
        #expect(functions.description == "stack.yml:3:12: functions: expected a mapping, found a list")
        let root = try #require(parseError("- just\n- a list\n"))
        #expect(root.description == "stack.yml:1:1: expected a mapping, found a list")
    }

    @Test func malformedYAMLReportsItsPosition() throws {
        let tab = try #require(parseError(Self.header + "  f:\n\tlang: go\n"))
        #expect(tab.line == 6)
        #expect(tab.field == nil)
        #expect(tab.message.hasPrefix("invalid YAML: "))
        let unclosed = try #require(parseError("version: 1.0\nprovider: {name: openfaas\nfunctions:\n"))
        #expect(unclosed.description
            == "stack.yml:3:10: invalid YAML: did not find expected ',' or '}'"
            + " (while parsing a flow mapping at line 2, column 11)")
        let duplicate = try #require(parseError(Self.header + "  f:\n    lang: go\n  f:\n    lang: node\n"))
        #expect(duplicate.line == 5)
        #expect(duplicate.message == "duplicate key `f`; keys in a mapping must be unique")
        let alias = try #require(parseError(Self.header + "  f: *nothing\n"))
        #expect(alias.line == 5)
        #expect(alias.message.contains("undefined alias"))
    }

    @Test func invalidFunctionNamesAreRejected() throws {
        let cases: [(String, String)] = [
            ("Hello", "it must start with a lowercase letter"),
            ("hello_world", "only lowercase letters, digits and '-' are allowed"),
            ("1fn", "it must start with a lowercase letter"),
            ("-fn", "it must start with a lowercase letter"),
            ("fn-", "it must not end with '-'"),
            (String(repeating: "a", count: 64), "it is longer than 63 characters"),
            ("\"\"", "it is empty"),
        ]
        for (name, problem) in cases {
            let error = try #require(parseError(Self.header + "  first:\n    lang: go\n  \(name):\n    lang: go\n"))
            let shown = name == "\"\"" ? "" : name
            #expect(error == StackError(
                file: "stack.yml", line: 7, column: 3, field: "functions.\(shown)",
                message: "invalid function name `\(shown)`: \(problem)"))
        }
        #expect(functionNameProblem(String(repeating: "a", count: 63)) == nil)
        #expect(functionNameProblem("a-1-b") == nil)
    }

    @Test func versionDefaultsLikeFaasCliAndProviderIsRequired() throws {
        // faas-cli assumes the default schema version when `version` is absent.
        let noVersion = try StackParser.parse("provider:\n  name: openfaas\nfunctions: {}\n", file: "stack.yml", environment: [:])
        #expect(noVersion.version == "1.0")
        let badVersion = try #require(parseError("version: 1.35\nprovider:\n  name: openfaas\n"))
        #expect(badVersion.description
            == "stack.yml:1:10: version: unsupported version `1.35`; the only valid version is `1.0`")
        let noProvider = try #require(parseError("version: 1.0\nfunctions: {}\n"))
        #expect(noProvider.description
            == "stack.yml:1:1: provider: missing required field (add `provider:` with `name: openfaas`)")
        let noName = try #require(parseError("version: 1.0\nprovider:\n  gateway: http://x\n"))
        #expect(noName.description == "stack.yml:3:3: provider.name: missing required field (use `name: openfaas`)")
        let faas = try #require(parseError("version: 1.0\nprovider:\n  name: faas\n"))
        #expect(faas.description
            == "stack.yml:3:9: provider.name: unsupported provider `faas`; the only valid provider is `openfaas`")
        let empty = try #require(parseError("# nothing here\n"))
        #expect(empty.description
            == "stack.yml: the file is empty; a stack file needs `version`, `provider` and `functions`")
    }

    @Test func badSubstitutionPointsAtIt() throws {
        let error = try #require(parseError(Self.header + "  f:\n    image: ${REGISTRY.x}/f\n"))
        #expect(error.description
            == "stack.yml:6:12: bad substitution `${REGISTRY.x}/f`: faas-cli's envsubst cannot expand it")
        let unterminated = try #require(parseError("version: ${V:-1.0\n"))
        #expect(unterminated.line == 1)
        #expect(unterminated.column == 10)
    }

    @Test func positionsReferToTheFileAsWritten() throws {
        let text = Self.header + "  a:\n    fprocess: \"${MULTI}\"\n  b:\n    environment: {A: ${LONG}, B: [x]}\n"
        let environment = ["MULTI": "one\ntwo\nthree", "LONG": String(repeating: "v", count: 50)]
        let error = try #require(parseError(text, environment: environment))
        #expect(error.description == "stack.yml:8:34: functions.b.environment.B: expected a string, found a list")
        let fixed = text.replacingOccurrences(of: "[x]", with: "x")
        let stack = try parseOK(fixed, environment: environment)
        #expect(stack.functions.map(\.line) == [5, 7])
        #expect(stack.functions[0].fprocess == "one two three")
        let yaml = try #require(parseError(Self.header + "  a:\n    fprocess: \"${MULTI}\"\n    lang: [\n", environment: environment))
        #expect(yaml.line == 8)
    }

    @Test func missingFileIsNamed() throws {
        let path = "/nonexistent-\(UUID().uuidString)/stack.yml"
        #expect(throws: StackError(file: path, message: "no such file")) {
            try StackParser.load(path: path, environment: [:])
        }
        #expect(throws: StackError(file: "/tmp", message: "is a directory, not a stack file")) {
            try StackParser.load(path: "/tmp", environment: [:])
        }
    }
}
