import Foundation
import StratusModel
import Synchronization
import Testing

@testable import StratusProcess

/// The SCF dialect of the runtime API, driven by a bash bootstrap with curl (as SCF's own sample).
@Suite struct BootstrapFunctionTests {
    let runtime = ProcessRuntime(bundleDirectory: FileManager.default.temporaryDirectory)

    /// A bundle folder holding `bootstrap` with `script`.
    func bundle(_ script: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bootstrap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("bootstrap")
        try Data(script.utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        return folder
    }

    func start(_ script: String, timeout: Double = 10, lines: LineCollector = LineCollector()) async throws -> BootstrapFunction {
        var settings = FunctionSettings(timeout: timeout)
        settings.mode = .bootstrap
        settings.readyTimeout = 10
        let function = try runtime.load(command: "./bootstrap", bundle: try bundle(script), settings: settings)
        let replicas = runtime.bootstrap(function, name: "scf", environment: [], responseLimit: 1024, log: { _, text in lines.add(text) })
        replicas.resize(to: 1)
        try await replicas.waitUntilReady()
        return replicas
    }

    static let scf = #"""
        #!/bin/bash
        API="http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT"
        # Paths outside the runtime API are refused; a response with no event in hand too.
        echo "unknown: $(curl -s -o /dev/null -w '%{http_code}' "$API/runtime/nonsense")"
        echo "early: $(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$API/runtime/invocation/response")"
        curl -s -X POST -d " " "$API/runtime/init/ready" > /dev/null
        while true; do
          HEADERS=$(mktemp)
          EVENT=$(curl -s -D "$HEADERS" "$API/runtime/invocation/next")
          ID=$(grep -i '^request_id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\r\n')
          LIMIT=$(grep -i '^time_limit_in_ms:' "$HEADERS" | cut -d' ' -f2 | tr -d '\r\n')
          case "$EVENT" in
            fail) curl -s -X POST -d "the handler failed" "$API/runtime/invocation/error" > /dev/null ;;
            huge) head -c 5000 /dev/zero | tr '\0' x | curl -s -o /dev/null -w 'huge: %{http_code}\n' -X POST --data-binary @- "$API/runtime/invocation/response" ;;
            *) curl -s -X POST -d "$EVENT from $ID in ${LIMIT}ms" "$API/runtime/invocation/response" > /dev/null
               echo "again: $(curl -s -o /dev/null -w '%{http_code}' -X POST -d late "$API/runtime/invocation/response")" ;;
          esac
        done
        """#

    @Test func scfDialectAnswersErrorsAndRefusals() async throws {
        let lines = LineCollector()
        let function = try await start(Self.scf, timeout: 7, lines: lines)
        #expect(await function.invoke(event: Array("hello".utf8), requestID: "req-1") == .response(Array("hello from req-1 in 7000ms".utf8)))
        #expect(await function.invoke(event: Array("fail".utf8), requestID: "req-2")
                == .functionError(type: "Unhandled", message: "the handler failed"))
        if case .failed(502, let why) = await function.invoke(event: Array("huge".utf8), requestID: "req-3") {
            #expect(why.contains("over the limit of 1024 bytes"))
        } else {
            Issue.record("an answer over the limit must fail the call")
        }
        #expect(await function.invoke(event: Array("still here".utf8), requestID: "req-4") == .response(Array("still here from req-4 in 7000ms".utf8)))
        // The bootstrap prints after it posts: give its last lines a moment to arrive.
        for _ in 0..<200 where !lines.all.joined().contains("again: 400") { try await Task.sleep(for: .milliseconds(25)) }
        let log = lines.all.joined(separator: "\n")
        #expect(log.contains("unknown: 404"), "\(log)")
        #expect(log.contains("early: 400"), "\(log)")
        #expect(log.contains("huge: 413"), "\(log)")
        #expect(log.contains("again: 400"), "a second answer for the same event is refused: \(log)")
        // Stopped before the test ends: a replica left running would outlive the test process.
        await function.stop()
    }

    @Test func callsQueueForTheReplicaAndScaleOut() async throws {
        // A slow handler: two calls at once need a second replica, which is started for them.
        let function = try await start(#"""
            #!/bin/bash
            API="http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT"
            curl -s -X POST -d " " "$API/runtime/init/ready" > /dev/null
            while true; do
              EVENT=$(curl -s "$API/runtime/invocation/next")
              sleep 0.5
              curl -s -X POST -d "done $EVENT" "$API/runtime/invocation/response" > /dev/null
            done
            """#)
        async let first = function.invoke(event: Array("a".utf8), requestID: "a")
        async let second = function.invoke(event: Array("b".utf8), requestID: "b")
        let answers = await [first, second]
        #expect(answers == [.response(Array("done a".utf8)), .response(Array("done b".utf8))])
        #expect(function.desiredReplicas == 2)
        await function.stop()
    }
}

final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ more: [String]) { lock.withLock { lines += more } }
    var all: [String] { lock.withLock { lines } }
}

/// The free signal is called on every call a bootstrap replica finishes: its cost must not grow with
/// the calls before it (a closure kept as a `Mutex`'s value came back wrapped in two more thunks
/// each time; 100,000 calls then nest 200,000 thunks deep and overflow the stack).
@Suite struct FreeSignalTests {
    @Test func aHundredThousandSignalsCostTheSameAsOne() {
        let signal = FreeSignal()
        let count = Mutex(0)
        signal.set { count.withLock { $0 += 1 } }
        for _ in 0..<100_000 { signal() }
        #expect(count.withLock { $0 } == 100_000)
    }
}
