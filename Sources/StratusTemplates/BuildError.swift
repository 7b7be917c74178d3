/// Why a function could not be built; `description` is ready to print.
public struct BuildError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// A tool or library is not installed; `hint` says how to install it.
        case missingTool(name: String, hint: String)
        /// The handler folder does not exist or is not a folder.
        case handlerNotFound(path: String)
        /// The handler folder has no source files for the language.
        case noSources(directory: String, fileExtension: String)
        /// The compiler rejected the code; `stderr` holds its messages (paths are the user's files).
        case compileFailed(stderr: String)
        /// The linker failed; `stderr` holds its messages.
        case linkFailed(stderr: String)
        /// Reading or writing a file failed.
        case ioFailed(String)
    }

    /// What went wrong.
    public let kind: Kind

    /// An error of the given kind.
    public init(_ kind: Kind) {
        self.kind = kind
    }

    /// The compiler's or linker's messages when a tool failed, else nil.
    public var diagnostics: String? {
        switch kind {
        case .compileFailed(let stderr), .linkFailed(let stderr): stderr
        default: nil
        }
    }

    public var description: String {
        switch kind {
        case .missingTool(let name, let hint):
            "missing \(name): \(hint)"
        case .handlerNotFound(let path):
            "handler folder \(path) not found"
        case .noSources(let directory, let fileExtension):
            "no .\(fileExtension) files in \(directory)"
        case .compileFailed(let stderr):
            "compilation failed:\n\(stderr)"
        case .linkFailed(let stderr):
            "linking failed:\n\(stderr)"
        case .ioFailed(let message):
            message
        }
    }
}
