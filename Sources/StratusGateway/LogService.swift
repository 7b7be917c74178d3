import Foundation
import Logging
import ServiceLifecycle
import StratusModel
import StratusStore
import Synchronization

/// Collects function log lines: buffers them off the call path, persists them in batches (bounded
/// per function), and fans them out to `follow` subscribers.
final class LogService: FunctionLogSink, Service {
    /// Lines kept per function.
    static let keep = 1000
    private let store: any LogStore
    private let logger: Logger
    private let pending = Mutex<[LogLine]>([])
    /// Store writes under way.
    private let writing = Atomic<Int>(0)
    private let subscribers = Mutex<[UUID: (function: FunctionName, continuation: AsyncStream<LogLine>.Continuation)]>([:])

    /// This node's name, written on every line (the logs of all nodes meet in a cluster's store).
    private let node: String?
    /// Whether other nodes write to the same store: a followed log then also shows their lines.
    private let shared: Bool

    init(store: any LogStore, logger: Logger, node: String? = nil, shared: Bool = false) {
        self.store = store
        self.logger = logger
        self.node = node
        self.shared = shared
    }

    /// On every call's path: the lines are only queued; the node's name goes on them when they are
    /// written (`flush`) or passed to a follower.
    func record(_ lines: [LogLine]) {
        pending.withLock { $0.append(contentsOf: lines) }
        subscribers.withLock { table in
            for (_, subscriber) in table {
                for line in lines where line.name == subscriber.function.rawValue && line.namespace == subscriber.function.namespace {
                    subscriber.continuation.yield(stamped(line))
                }
            }
        }
    }

    /// The line with this node's name on it.
    private func stamped(_ line: LogLine) -> LogLine {
        guard let node, line.node == nil else { return line }
        var line = line
        line.node = node
        return line
    }

    /// Writes buffered lines to the store now, and waits for writes already under way (the periodic
    /// flush), so a reader that flushes first sees every line recorded before it.
    func flush() async {
        let lines = pending.withLock { buffer -> [LogLine] in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }.map(stamped)
        if !lines.isEmpty {
            writing.add(1, ordering: .relaxed)
            do { try await store.appendLogs(lines, keep: Self.keep) } catch {
                // Keep them for the next flush (bounded: a store that keeps failing must not eat the memory).
                pending.withLock { buffer in
                    buffer.insert(contentsOf: lines, at: 0)
                    if buffer.count > Self.pendingLimit { buffer.removeFirst(buffer.count - Self.pendingLimit) }
                }
                logger.error("cannot store function logs yet", metadata: ["error": "\(error)", "lines": "\(lines.count)"])
            }
            writing.subtract(1, ordering: .relaxed)
        }
        for _ in 0..<1000 where writing.load(ordering: .relaxed) > 0 {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Lines held in memory at most while the store cannot take them.
    static let pendingLimit = 100_000

    /// New lines of `function` from now on, until the subscriber stops, `seconds` have passed, the
    /// function is removed, or the server shuts down.
    func follow(_ function: FunctionName, for seconds: Double) -> AsyncStream<LogLine> {
        let (stream, continuation) = AsyncStream<LogLine>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = UUID()
        subscribers.withLock { $0[id] = (function, continuation) }
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            continuation.finish()
        }
        let others = shared ? Task { [store, node] in await Self.followOtherNodes(function, store: store, node: node, into: continuation) } : nil
        continuation.onTermination = { [weak self] _ in
            timer.cancel()
            others?.cancel()
            self?.subscribers.withLock { $0[id] = nil }
        }
        return stream
    }

    /// Lines written through other nodes reach a follower through the shared store: read every
    /// second over the last few seconds (nodes write their lines in batches, in any order), each
    /// passed on once.
    static func followOtherNodes(_ function: FunctionName, store: any LogStore, node: String?,
                                 into continuation: AsyncStream<LogLine>.Continuation) async {
        let window: Double = 5
        var seen: [String: Date] = [:]
        let start = Date()
        while (try? await Task.sleep(for: .seconds(1))) != nil {
            let since = max(start, Date().addingTimeInterval(-window))
            guard let lines = try? await store.logs(function: function, since: since, tail: nil) else { continue }
            for line in lines where line.node != node {
                let key = "\(line.timestamp.timeIntervalSince1970) \(line.node ?? "") \(line.instance) \(line.text)"
                guard seen[key] == nil else { continue }
                seen[key] = line.timestamp
                continuation.yield(line)
            }
            seen = seen.filter { $0.value >= since }
        }
    }

    /// Ends the `follow` streams of `function` (it was removed).
    func endFollowers(of function: FunctionName) {
        let open = subscribers.withLock { table in table.values.filter { $0.function == function }.map(\.continuation) }
        for continuation in open { continuation.finish() }
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            await flush()
        }
        endFollowers()
        // The last lines are written even when the service is being cancelled.
        await Task.detached { await self.flush() }.value
    }

    /// Ends every `follow` stream (the server is stopping).
    func endFollowers() {
        let open = subscribers.withLock { table in
            defer { table.removeAll() }
            return table.values.map(\.continuation)
        }
        for continuation in open { continuation.finish() }
    }
}
