/// Why a stack file could not be read: where (file, line, column, field) and what.
public struct StackError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file name as given to the parser.
    public var file: String
    /// The 1-based line the problem is on, when known.
    public var line: Int?
    /// The 1-based column the problem is at, when known.
    public var column: Int?
    /// The dotted path of the field at fault, e.g. `functions.hello.lang`, when there is one.
    public var field: String?
    /// What is wrong, in words.
    public var message: String

    /// Creates an error.
    public init(file: String, line: Int? = nil, column: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    /// `file:line:column: field: message`, leaving out the parts that are unknown.
    public var description: String {
        var out = file
        if let line {
            out += ":\(line)"
            if let column { out += ":\(column)" }
        }
        out += ": "
        if let field { out += "\(field): " }
        return out + message
    }
}
