import Foundation
import NIOCore
import StratusModel
import Synchronization
import Testing
@testable import StratusProcess

#if canImport(Glibc)
import Glibc
#endif

/// The pipe a streamed body goes through: it holds at most its window, lets the writer go when the
/// reader leaves, and hands the end (or the failure) over after the data.
struct ChunkPipeTests {
    func chunk(_ count: Int, _ byte: UInt8 = 1) -> ByteBuffer { ByteBuffer(bytes: [UInt8](repeating: byte, count: count)) }

    final class Progress: Sendable {
        let sent = Atomic(0)
    }

    @Test func aWriterPastTheWindowWaitsForTheReader() async throws {
        let pipe = ChunkPipe(window: 10)
        let progress = Progress()
        let writer = Task {
            for _ in 0..<3 {
                guard await pipe.send(chunk(8)) else { return false }
                progress.sent.add(1, ordering: .relaxed)
            }
            pipe.finish()
            return true
        }
        // The second chunk takes the pipe past its window: the writer stops there until something is read.
        for _ in 0..<200 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(progress.sent.load(ordering: .relaxed) == 1)
        var total = 0
        for try await piece in pipe { total += piece.readableBytes }
        #expect(total == 24)
        #expect(await writer.value)
    }

    @Test func theReaderLeavingLetsTheWriterGo() async throws {
        let pipe = ChunkPipe(window: 4)
        let writer = Task { () -> [Bool] in
            var results: [Bool] = []
            for _ in 0..<3 { results.append(await pipe.send(chunk(8))) }
            return results
        }
        try await Task.sleep(for: .milliseconds(20))
        do {
            var iterator = pipe.makeAsyncIterator()
            #expect(try await iterator.next()?.readableBytes == 8)
        }
        // The iterator is gone: the writer is told to stop instead of waiting for good.
        let results = await writer.value
        #expect(results.first == true)
        #expect(results.last == false)
        #expect(await pipe.send(chunk(1)) == false)
    }

    @Test func aFailureComesAfterTheData() async throws {
        struct Broken: Error {}
        let pipe = ChunkPipe()
        #expect(await pipe.send(chunk(3)))
        pipe.finish(throwing: Broken())
        var iterator = pipe.makeAsyncIterator()
        #expect(try await iterator.next()?.readableBytes == 3)
        await #expect(throws: Broken.self) { try await iterator.next() }
    }

    @Test func aThreadReaderIsWokenByAChunkAndTheEnd() async throws {
        let pipe = ChunkPipe()
        let wake = pipe.wakeDescriptor
        pipe.clearWake()
        guard case .empty = pipe.take() else { Issue.record("an empty pipe has nothing to take"); return }
        #expect(await pipe.send(chunk(5)))
        var watched = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
        #expect(poll(&watched, 1, 5000) == 1, "a chunk makes the wake end readable")
        pipe.clearWake()
        guard case .chunk(let piece) = pipe.take() else { Issue.record("the chunk is there"); return }
        #expect(piece.readableBytes == 5)
        pipe.finish()
        #expect(poll(&watched, 1, 5000) == 1, "the end makes the wake end readable")
        guard case .end = pipe.take() else { Issue.record("the pipe has ended"); return }
    }

    @Test func aProcessStreamsItsInputAndOutputThroughPipes() async throws {
        let runtime = ProcessRuntime(bundleDirectory: FileManager.default.temporaryDirectory)
        let function = try runtime.load(command: "cat", bundle: nil, settings: FunctionSettings(timeout: 30))
        let input = ChunkPipe(window: 64 * 1024)
        let output = ChunkPipe(window: 64 * 1024)
        let ended = Mutex<(GuestResult, Int)?>(nil)
        let feeder = Task {
            for index in 0..<64 { guard await input.send(chunk(64 * 1024, UInt8(index))) else { return } }
            input.finish()
        }
        let request = GuestRequest(stdin: [], environment: [], arguments: [], outputLimit: 64 << 20)
        let answer = await runtime.start(function, request: request, streams: ClassicStreams(input: input, output: output, streamAfter: 256 * 1024)) {
            result, written in ended.withLock { $0 = (result, written) }
        }
        guard case .streaming = answer else { Issue.record("4 MiB through cat streams"); return }
        var received: [UInt8] = []
        for try await piece in output { received += piece.readableBytesView }
        await feeder.value
        #expect(received.count == 64 * 64 * 1024)
        #expect(received[0] == 0 && received[64 * 1024] == 1 && received.last == 63, "the chunks come back in order")
        for _ in 0..<100 where ended.withLock({ $0 == nil }) { try await Task.sleep(for: .milliseconds(10)) }
        let end = try #require(ended.withLock { $0 })
        #expect(end.0.outcome == .exited(0))
        #expect(end.1 == 64 * 64 * 1024)
    }
}
