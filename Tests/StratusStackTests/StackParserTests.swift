import Foundation
import Testing

@testable import StratusStack

/// Parses `text` with an empty environment, failing the test on error.
func parseOK(_ text: String, environment: [String: String] = [:]) throws -> StackFile {
    try StackParser.parse(text, file: "stack.yml", environment: environment)
}

/// The error parsing `text` gives, or `nil` when it parses.
func parseError(_ text: String, environment: [String: String] = [:]) -> StackError? {
    do {
        _ = try StackParser.parse(text, file: "stack.yml", environment: environment)
        return nil
    } catch {
        return error
    }
}

@Suite struct StackParserTests {
    @Test func seedExampleParses() throws {
        let stack = try parseOK(
            """
            version: 1.0
            provider:
              name: openfaas
              gateway: http://127.0.0.1:8080
            functions:
              pycon:
                lang: python3
                handler: ./pycon
                image: pycon:latest
            """)
        #expect(stack.version == "1.0")
        #expect(stack.provider == StackProvider(name: "openfaas", gateway: "http://127.0.0.1:8080"))
        #expect(stack.configuration == nil)
        #expect(
            stack.functions == [
                StackFunction(name: "pycon", lang: "python3", handler: "./pycon", image: "pycon:latest", line: 6)
            ])
    }

    @Test func everyFieldParses() throws {
        let stack = try parseOK(
            """
            version: "1.0"
            provider:
              name: openfaas
              gateway: https://gw.example.com
              network: func_functions
            configuration:
              templates:
                - name: golang-middleware
                  source: https://github.com/openfaas/golang-http-template
                - name: python3-http
              copy:
                - ./common
                - ./shared
            functions:
              api:
                lang: golang-middleware
                handler: ./api
                image: ghcr.io/acme/api:0.1.0
                fprocess: ./handler
                environment:
                  write_debug: true
                  PORT: 8080
                  RATIO: 1.50
                  NAME: api
                  EMPTY:
                environment_file:
                  - env.yml
                  - secrets.env.yml
                secrets:
                  - db-password
                labels:
                  com.openfaas.scale.min: 2
                  team: platform
                annotations:
                  com.stratus.timeout: 30s
                  topic: payments
                limits:
                  memory: 128Mi
                  cpu: 500m
                requests:
                  memory: 64Mi
                  cpu: 0.1
                namespace: staging
                constraints:
                  - node.platform.os == linux
                build_args:
                  GO111MODULE: on
                  CGO_ENABLED: 0
                build_options:
                  - dev
                build_secrets:
                  npmrc: ~/.npmrc
                skip_build: yes
                readonly_root_filesystem: true
                platforms: linux/amd64, linux/arm64
            """)
        #expect(stack.provider == StackProvider(name: "openfaas", gateway: "https://gw.example.com", network: "func_functions"))
        #expect(
            stack.configuration
                == StackConfiguration(
                    templates: [
                        StackTemplateSource(
                            name: "golang-middleware", source: "https://github.com/openfaas/golang-http-template"),
                        StackTemplateSource(name: "python3-http"),
                    ],
                    copy: ["./common", "./shared"]))
        let expected = StackFunction(
            name: "api", lang: "golang-middleware", handler: "./api", image: "ghcr.io/acme/api:0.1.0",
            fprocess: "./handler",
            environment: ["write_debug": "true", "PORT": "8080", "RATIO": "1.50", "NAME": "api", "EMPTY": ""],
            environmentFiles: ["env.yml", "secrets.env.yml"], secrets: ["db-password"],
            labels: ["com.openfaas.scale.min": "2", "team": "platform"],
            annotations: ["com.stratus.timeout": "30s", "topic": "payments"],
            limits: StackResources(memory: "128Mi", cpu: "500m"), requests: StackResources(memory: "64Mi", cpu: "0.1"),
            namespace: "staging", constraints: ["node.platform.os == linux"],
            buildArgs: ["GO111MODULE": "on", "CGO_ENABLED": "0"], buildOptions: ["dev"],
            buildSecrets: ["npmrc": "~/.npmrc"], skipBuild: true, readonlyRootFilesystem: true,
            platforms: ["linux/amd64", "linux/arm64"], line: 15)
        #expect(stack.functions == [expected])
        #expect(stack.function(named: "api") == expected)
        #expect(stack.function(named: "nope") == nil)
    }

    @Test func environmentValuesKeepTheirWrittenForm() throws {
        let stack = try parseOK(
            """
            version: 1.0
            provider: {name: openfaas}
            functions:
              f:
                environment: {A: 1, B: 0x1F, C: 1e3, D: false, E: "quoted", F: ~, G: 2024-01-02, H: 'yes'}
            """)
        #expect(
            stack.functions[0].environment
                == ["A": "1", "B": "0x1F", "C": "1e3", "D": "false", "E": "quoted", "F": "", "G": "2024-01-02", "H": "yes"])
    }

    @Test func functionsKeepFileOrder() throws {
        let names = ["zeta", "alpha", "mid", "beta-2", "a1"]
        let text = "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n"
            + names.map { "  \($0):\n    lang: go\n" }.joined()
        let stack = try parseOK(text)
        #expect(stack.functions.map(\.name) == names)
        #expect(stack.functions.map(\.line) == [5, 7, 9, 11, 13])
    }

    @Test func emptySectionsAreAccepted() throws {
        let stack = try parseOK("version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  bare:\n  other: {}\n")
        #expect(stack.functions == [StackFunction(name: "bare", line: 5), StackFunction(name: "other", line: 6)])
        let none = try parseOK("version: 1.0\nprovider:\n  name: openfaas\n")
        #expect(none.functions.isEmpty)
    }

    @Test func mergeKeysApplyWithExplicitKeysWinning() throws {
        let stack = try parseOK(
            """
            version: 1.0
            provider:
              name: openfaas
            functions:
              first: &base
                lang: go
                environment: &env
                  LEVEL: info
                  MODE: fast
              second:
                <<: *base
                handler: ./second
                environment:
                  <<: *env
                  LEVEL: debug
            """)
        let second = try #require(stack.function(named: "second"))
        #expect(second.lang == "go")
        #expect(second.handler == "./second")
        #expect(second.environment == ["LEVEL": "debug", "MODE": "fast"])
    }

    @Test func booleansFollowYAML11() throws {
        for (text, value) in [("true", true), ("on", true), ("Y", true), ("no", false), ("OFF", false), ("", false)] {
            let stack = try parseOK("version: 1.0\nprovider: {name: openfaas}\nfunctions:\n  f:\n    skip_build: \(text)\n")
            #expect(stack.functions[0].skipBuild == value, "skip_build: \(text)")
        }
    }

    @Test func byteOrderMarkIsIgnored() throws {
        let stack = try parseOK("\u{FEFF}version: 1.0\nprovider: {name: openfaas}\nfunctions:\n  f:\n    lang: go\n")
        #expect(stack.functions == [StackFunction(name: "f", lang: "go", line: 4)])
    }

    @Test func platformsAcceptAList() throws {
        let stack = try parseOK(
            "version: 1.0\nprovider: {name: openfaas}\nfunctions:\n  f:\n    platforms: [linux/amd64, linux/arm64]\n")
        #expect(stack.functions[0].platforms == ["linux/amd64", "linux/arm64"])
    }

    @Test func substitutionHappensBeforeParsing() throws {
        let text = """
            version: 1.0
            provider:
              name: openfaas
              gateway: ${OPENFAAS_URL:-http://127.0.0.1:8080}
            functions:
              ${FN_NAME}:
                image: ${REGISTRY}/fn:${TAG:-latest}
                environment:
                  user: ${UNSET_VARIABLE}
                  price: $$5 and $HOME
            """
        let stack = try parseOK(text, environment: ["FN_NAME": "hello", "REGISTRY": "ghcr.io/acme"])
        #expect(stack.provider.gateway == "http://127.0.0.1:8080")
        let fn = try #require(stack.function(named: "hello"))
        #expect(fn.image == "ghcr.io/acme/fn:latest")
        #expect(fn.environment == ["user": "", "price": "$5 and $HOME"])
        let overridden = try parseOK(
            text, environment: ["FN_NAME": "hello", "REGISTRY": "r", "TAG": "v2", "OPENFAAS_URL": "http://gw"])
        #expect(overridden.provider.gateway == "http://gw")
        #expect(overridden.functions[0].image == "r/fn:v2")
    }

    @Test func loadReadsAFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-stack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("stack.yml").path
        try "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  f:\n    image: ${IMG}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let stack = try StackParser.load(path: path, environment: ["IMG": "x:1"])
        #expect(stack.functions == [StackFunction(name: "f", image: "x:1", line: 5)])
    }

    @Test func processEnvironmentIsTheDefault() throws {
        let path = try #require(ProcessInfo.processInfo.environment["PATH"])
        let stack = try StackParser.parse(
            "version: 1.0\nprovider: {name: openfaas}\nfunctions:\n  f:\n    fprocess: \"${PATH}\"\n", file: "s.yml")
        #expect(stack.functions[0].fprocess == path)
    }
}
