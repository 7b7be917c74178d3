public import Foundation

/// One line of a function's log, as `GET /system/logs` streams it (OpenFaaS's log message shape).
public struct LogLine: Codable, Sendable, Equatable {
    public var name: String
    public var namespace: String
    /// Which replica or instance wrote it (`wasm`, or the process id for process functions).
    public var instance: String
    public var timestamp: Date
    public var text: String
    /// The cluster node that wrote it (the server's node name; set by the log service).
    public var node: String?

    public init(name: String, namespace: String = FunctionName.defaultNamespace, instance: String, timestamp: Date = Date(), text: String,
                node: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.instance = instance
        self.timestamp = timestamp
        self.text = text
        self.node = node
    }
}

/// Where the invoker sends what functions write to their log.
public protocol FunctionLogSink: Sendable {
    func record(_ lines: [LogLine])
}
