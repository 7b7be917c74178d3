/// A failure the CLI reports to the user and exits non-zero on.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
