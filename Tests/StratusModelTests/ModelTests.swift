import Foundation
import Testing
@testable import StratusModel

struct FunctionNameTests {
    @Test(arguments: ["hello", "a", "fn-2", String(repeating: "a", count: 63)])
    func acceptsDNSLabels(_ name: String) throws {
        #expect(try FunctionName(name).rawValue == name)
    }

    @Test(arguments: ["", "Hello", "2fn", "-x", "x-", "a_b", "a.b", "a/b", "../etc", String(repeating: "a", count: 64)])
    func rejectsInvalidNames(_ name: String) {
        #expect(throws: ModelError.self) { try FunctionName(name) }
    }

    @Test func parsesNamespacedReferences() throws {
        #expect(try FunctionName(parsing: "echo.openfaas-fn") == FunctionName("echo"))
        #expect(try FunctionName(parsing: "echo").namespace == "openfaas-fn")
        let staging = try FunctionName(parsing: "echo.staging")
        #expect(staging.rawValue == "echo" && staging.namespace == "staging")
        let plain = try FunctionName("echo")
        #expect(staging != plain)
        #expect(staging.qualified == "echo.staging" && plain.qualified == "echo")
        #expect(throws: ModelError.self) { try FunctionName(parsing: "echo.Bad_NS") }
        #expect(throws: ModelError.self) { try FunctionName(parsing: "echo.a.b") }
    }

    @Test func takesTheNamespaceAnOpenFaaSRequestGivesBesideTheName() throws {
        #expect(try FunctionName(parsing: "echo", namespace: "staging") == FunctionName("echo", namespace: "staging"))
        #expect(try FunctionName(parsing: "echo", namespace: "") == FunctionName("echo"))
        #expect(try FunctionName(parsing: "echo.staging", namespace: "staging").namespace == "staging")
        // Two namespaces named at once is a mistake, not a choice.
        #expect(throws: ModelError.self) { try FunctionName(parsing: "echo.staging", namespace: "prod") }
    }

    @Test func encodesAsItsAddress() throws {
        let names = [try FunctionName("echo"), try FunctionName("echo", namespace: "staging")]
        let data = try JSONEncoder().encode(names)
        #expect(String(decoding: data, as: UTF8.self) == #"["echo","echo.staging"]"#)
        #expect(try JSONDecoder().decode([FunctionName].self, from: data) == names)
    }
}

struct SixDecimalSecondsTests {
    /// As `%.6f` writes them (`X-Duration-Seconds`, the watchdog's Duration line).
    @Test func writesSecondsWithSixDecimals() {
        #expect(sixDecimalSeconds(0) == "0.000000")
        #expect(sixDecimalSeconds(0.0012345) == "0.001235")
        #expect(sixDecimalSeconds(2.5) == "2.500000")
        #expect(sixDecimalSeconds(61.000001) == "61.000001")
        #expect(sixDecimalSeconds(-1) == "0.000000")
    }
}

struct DigestAndArtifactNameTests {
    @Test func parsesDigests() throws {
        let hex = String(repeating: "ab", count: 32)
        #expect(try Digest("sha256:\(hex)").description == "sha256:\(hex)")
        #expect(throws: ModelError.self) { try Digest("sha256:xyz") }
        #expect(throws: ModelError.self) { try Digest(String(repeating: "A", count: 64)) }
        #expect(Digest(hashBytes: [0x00, 0xff] + Array(repeating: 0, count: 30)).hex.hasPrefix("00ff"))
    }

    @Test func parsesArtifactNames() throws {
        #expect(try ArtifactName("hello").description == "hello:latest")
        #expect(try ArtifactName("ghcr.io/me/hello:v1").tag == "v1")
        for bad in ["", ":tag", "name:", "a:b:c", "../x", "/abs", "sp ace"] {
            #expect(throws: ModelError.self, "\(bad)") { try ArtifactName(bad) }
        }
    }
}

struct QuantityTests {
    @Test func parsesDurations() throws {
        #expect(try Quantities.duration("500ms") == 0.5)
        #expect(try Quantities.duration("30s") == 30)
        #expect(try Quantities.duration("2m") == 120)
        #expect(try Quantities.duration("1.5") == 1.5)
        for bad in ["", "soon", "-1s", "0", "5d"] {
            #expect(throws: ModelError.self, "\(bad)") { try Quantities.duration(bad) }
        }
    }

    @Test func parsesMemory() throws {
        #expect(try Quantities.memory("64Mi") == 64 * 1024 * 1024)
        #expect(try Quantities.memory("1Gi") == 1 << 30)
        #expect(try Quantities.memory("128M") == 128_000_000)
        #expect(try Quantities.memory("4096") == 4096)
        for bad in ["", "lots", "-5Mi", "10Xi"] {
            #expect(throws: ModelError.self, "\(bad)") { try Quantities.memory(bad) }
        }
    }
}

struct FunctionSettingsTests {
    func spec(env: [String: String] = [:], annotations: [String: String] = [:], memory: String? = nil) throws -> FunctionSpec {
        FunctionSpec(name: try FunctionName("f"), image: "f", artifact: Digest(hashBytes: Array(repeating: 1, count: 32)),
                     envVars: env, annotations: annotations, limits: memory.map { FunctionResources(memory: $0) })
    }

    @Test func defaults() throws {
        #expect(try spec().settings() == FunctionSettings())
    }

    @Test func readsAnnotationsBeforeWatchdogEnvironment() throws {
        let settings = try spec(env: ["exec_timeout": "5s", "content_type": "text/html"],
                                annotations: ["com.stratus.timeout": "2s"], memory: "32Mi").settings()
        #expect(settings.timeout == 2)
        #expect(settings.contentType == "text/html")
        #expect(settings.memoryLimit == 32 * 1024 * 1024)
    }

    @Test func malformedValuesAreErrors() throws {
        #expect(throws: ModelError.self) { try spec(annotations: ["com.stratus.timeout": "forever"]).settings() }
        #expect(throws: ModelError.self) { try spec(memory: "big").settings() }
    }

    @Test func processModeAndReplicaRange() throws {
        #expect(try spec().settings().mode == .classic)
        #expect(try spec(env: ["mode": "http"]).settings().mode == .http)
        #expect(try spec(env: ["mode": "http"], annotations: ["com.stratus.mode": "classic"]).settings().mode == .classic)
        #expect(throws: ModelError.invalidMode("sideways")) { try spec(env: ["mode": "sideways"]).settings() }
        let settings = try spec(annotations: ["com.openfaas.scale.min": "2", "com.openfaas.scale.max": "5",
                                              "com.stratus.ready-timeout": "3s", "com.openfaas.health.http.path": "healthz"]).settings()
        #expect(settings.minReplicas == 2 && settings.maxReplicas == 5 && settings.readyTimeout == 3)
        #expect(settings.healthPath == "/healthz")
        #expect(settings.replicas(requested: nil) == 2, "the minimum when nobody scaled it")
        #expect(settings.replicas(requested: 9) == 5, "clamped to the maximum")
        #expect(settings.replicas(requested: 0) == 0, "scaled to zero")
        #expect(try spec().settings().replicas(requested: nil) == 1)
        #expect(throws: ModelError.self) { try spec(annotations: ["com.openfaas.scale.min": "3", "com.openfaas.scale.max": "2"]).settings() }
        #expect(throws: ModelError.self) { try spec(annotations: ["com.openfaas.scale.max": "0"]).settings() }
        #expect(throws: ModelError.self) { try spec(annotations: ["com.openfaas.scale.min": "-1"]).settings() }
    }
}

struct WatchdogEnvironmentTests {
    @Test func mapsHeadersTheOpenFaaSWay() {
        let request = InvocationRequest(method: "GET", path: "/x", query: "a=1",
                                        headers: [("content-type", "text/plain"), ("X-Forwarded-For", "1.2.3.4")])
        let env = Dictionary(request.watchdogEnvironment, uniquingKeysWith: { a, _ in a })
        #expect(env["Http_Method"] == "GET")
        #expect(env["Http_Path"] == "/x")
        #expect(env["Http_Query"] == "a=1")
        #expect(env["Http_Content_Type"] == "text/plain")
        #expect(env["Http_X_Forwarded_For"] == "1.2.3.4")
    }
}
