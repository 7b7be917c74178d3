import Testing

@testable import StratusStack

/// Golden fixtures: whole stack files and what they must parse to, or the exact error they give.
enum Fixtures {
    static let environment = ["DOCKER_USER": "alexellis2", "TAG": ""]

    /// Valid files, as faas-cli users write them, with the expected result.
    static let valid: [(name: String, text: String, expected: StackFile)] = [
        (
            "faas-cli sample stack",
            """
            version: 1.0
            provider:
              name: openfaas
              gateway: http://127.0.0.1:8080
              network: "func_functions"

            functions:
              url-ping:
                lang: python
                handler: ./sample/url-ping
                image: ${DOCKER_USER:-exampleco}/faas-url-ping:0.2
                environment:
                  http_proxy: http://proxy1.corp.com:3128
                  no_proxy: http://gateway/

              imagemagick:
                lang: dockerfile
                handler: ./sample/imagemagick
                image: functions/resizer:${TAG:-latest}
                fprocess: "convert - -resize 50% fd:1"
                labels:
                  canary: true
                  Git-Owner: alexellis
                limits:
                  memory: 40Mi
                requests:
                  memory: 20Mi
                  cpu: 100m
            """,
            StackFile(
                version: "1.0",
                provider: StackProvider(name: "openfaas", gateway: "http://127.0.0.1:8080", network: "func_functions"),
                functions: [
                    StackFunction(
                        name: "url-ping", lang: "python", handler: "./sample/url-ping",
                        image: "alexellis2/faas-url-ping:0.2",
                        environment: ["http_proxy": "http://proxy1.corp.com:3128", "no_proxy": "http://gateway/"],
                        line: 8),
                    StackFunction(
                        name: "imagemagick", lang: "dockerfile", handler: "./sample/imagemagick",
                        image: "functions/resizer:latest", fprocess: "convert - -resize 50% fd:1",
                        labels: ["canary": "true", "Git-Owner": "alexellis"],
                        limits: StackResources(memory: "40Mi"), requests: StackResources(memory: "20Mi", cpu: "100m"),
                        line: 16),
                ])
        ),
        (
            "templates, copy, secrets and annotations",
            """
            version: 1.0
            provider:
              name: openfaas
            configuration:
              templates:
                - name: golang-middleware
                  source: https://github.com/openfaas/golang-http-template
              copy:
                - ./common
            functions:
              stripe-webhook:
                lang: golang-middleware
                handler: ./stripe-webhook
                image: ghcr.io/acme/stripe-webhook:0.3.1
                secrets:
                  - stripe-key
                annotations:
                  com.stratus.timeout: 10s
                  com.stratus.max-concurrency: 8
                environment_file:
                  - env.yml
            """,
            StackFile(
                version: "1.0", provider: StackProvider(name: "openfaas"),
                functions: [
                    StackFunction(
                        name: "stripe-webhook", lang: "golang-middleware", handler: "./stripe-webhook",
                        image: "ghcr.io/acme/stripe-webhook:0.3.1", environmentFiles: ["env.yml"],
                        secrets: ["stripe-key"],
                        annotations: ["com.stratus.timeout": "10s", "com.stratus.max-concurrency": "8"], line: 11)
                ],
                configuration: StackConfiguration(
                    templates: [
                        StackTemplateSource(
                            name: "golang-middleware", source: "https://github.com/openfaas/golang-http-template")
                    ],
                    copy: ["./common"]))
        ),
    ]

    /// Invalid files with the exact error text they give.
    static let invalid: [(name: String, text: String, error: String)] = [
        (
            "misspelt function field",
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  hello:\n    lang: go\n    handlr: ./hello\n",
            "stack.yml:7:5: functions.hello.handlr: unknown field (did you mean `handler`?)"
        ),
        (
            "environment as a list",
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  hello:\n    environment:\n      - A=1\n",
            "stack.yml:7:7: functions.hello.environment: expected a mapping, found a list"
        ),
        (
            "uppercase function name",
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  Hello:\n    lang: go\n",
            "stack.yml:5:3: functions.Hello: invalid function name `Hello`: it must start with a lowercase letter"
        ),
        (
            "unsupported version",
            "version: 2.0\nprovider:\n  name: openfaas\n",
            "stack.yml:1:10: version: unsupported version `2.0`; the only valid version is `1.0`"
        ),
        (
            "legacy provider name",
            "version: 1.0\nprovider:\n  name: faas\n",
            "stack.yml:3:9: provider.name: unsupported provider `faas`; the only valid provider is `openfaas`"
        ),
        (
            "limits as a string",
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  hello:\n    limits: 128Mi\n",
            "stack.yml:6:13: functions.hello.limits: expected a mapping, found the string `128Mi`"
        ),
        (
            "unclosed quote",
            "version: 1.0\nprovider:\n  name: \"openfaas\nfunctions: {}\n",
            "stack.yml:5:1: invalid YAML: found unexpected end of stream"
                + " (while scanning a quoted scalar at line 3, column 9)"
        ),
    ]
}

@Suite struct GoldenTests {
    @Test(arguments: Fixtures.valid.indices)
    func validFixtureParses(index: Int) throws {
        let fixture = Fixtures.valid[index]
        let stack = try StackParser.parse(fixture.text, file: "stack.yml", environment: Fixtures.environment)
        #expect(stack == fixture.expected, "\(fixture.name)")
    }

    @Test(arguments: Fixtures.invalid.indices)
    func invalidFixtureFails(index: Int) {
        let fixture = Fixtures.invalid[index]
        #expect(parseError(fixture.text, environment: Fixtures.environment)?.description == fixture.error, "\(fixture.name)")
    }
}
