public import Foundation

/// What `Templates.scaffold` created.
public struct ScaffoldResult: Sendable {
    /// The new handler folder, `<directory>/<name>`.
    public let functionDirectory: URL
    /// The files written into it.
    public let files: [URL]
    /// The stack file that now lists the function.
    public let stackFile: URL
    /// Whether the stack file was created (true) or extended (false).
    public let createdStackFile: Bool
}

/// Why a function could not be scaffolded; `description` is ready to print.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The name is not a DNS-1123 label.
        case invalidName(name: String, reason: String)
        /// The stack file already has a function with this name.
        case functionExists(name: String, stackFile: String)
        /// The handler folder (or a file with its name) already exists.
        case directoryExists(path: String)
        /// The stack file's `functions:` section could not be extended textually.
        case unsupportedStackFile(path: String, reason: String)
        /// Reading or writing a file failed.
        case ioFailed(path: String, reason: String)
    }

    /// What went wrong.
    public let kind: Kind

    /// An error of the given kind.
    public init(_ kind: Kind) {
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .invalidName(let name, let reason): "invalid function name '\(name)': \(reason)"
        case .functionExists(let name, let stackFile): "\(stackFile) already has a function named '\(name)'"
        case .directoryExists(let path): "\(path) already exists; choose another name or remove it"
        case .unsupportedStackFile(let path, let reason): "cannot add the function to \(path): \(reason)"
        case .ioFailed(let path, let reason): "\(path): \(reason)"
        }
    }
}

extension Templates {
    /// Creates ./<name>/ with the handler files and adds the function to stack.yml (creating it if absent).
    public static func scaffold(
        name: String, language: TemplateLanguage, in directory: URL, stackFile: String = "stack.yml",
        gateway: String = "http://127.0.0.1:8080"
    ) throws(TemplateError) -> ScaffoldResult {
        if let reason = nameProblem(name) { throw TemplateError(.invalidName(name: name, reason: reason)) }
        let files = FileManager.default
        let base = directory.standardizedFileURL
        let stackURL = (stackFile.hasPrefix("/") ? URL(fileURLWithPath: stackFile) : base.appendingPathComponent(stackFile))
            .standardizedFileURL
        let functionDirectory = base.appendingPathComponent(name)
        let handlerPath = StackFileEditor.relativePath(of: functionDirectory, from: stackURL.deletingLastPathComponent())
        let entry = StackFileEditor.Entry(name: name, lang: language.rawValue, handler: handlerPath, image: "\(name):latest")

        // Decide everything before writing anything.
        let newText: String
        let existed = files.fileExists(atPath: stackURL.path)
        if existed {
            guard let data = files.contents(atPath: stackURL.path) else {
                throw TemplateError(.ioFailed(path: stackURL.path, reason: "cannot read the file"))
            }
            newText = try StackFileEditor.adding(entry, to: String(decoding: data, as: UTF8.self), path: stackURL.path)
        } else {
            newText = StackFileEditor.newStack(entry, gateway: gateway)
        }
        if files.fileExists(atPath: functionDirectory.path) {
            throw TemplateError(.directoryExists(path: functionDirectory.path))
        }

        var written: [URL] = []
        do {
            try files.createDirectory(at: functionDirectory, withIntermediateDirectories: true)
            for file in template(for: language).files {
                let url = functionDirectory.appendingPathComponent(file.path)
                try Data(file.contents.utf8).write(to: url, options: .withoutOverwriting)
                // A custom runtime's bootstrap is a program: it can be run by hand too.
                if file.path == "bootstrap" { try files.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
                written.append(url)
            }
        } catch {
            try? files.removeItem(at: functionDirectory)
            throw TemplateError(.ioFailed(path: functionDirectory.path, reason: error.localizedDescription))
        }
        do {
            try files.createDirectory(at: stackURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(newText.utf8).write(to: stackURL, options: .atomic)
        } catch {
            try? files.removeItem(at: functionDirectory)
            throw TemplateError(.ioFailed(path: stackURL.path, reason: error.localizedDescription))
        }
        return ScaffoldResult(functionDirectory: functionDirectory, files: written, stackFile: stackURL, createdStackFile: !existed)
    }

    /// Why `name` is not a valid function name (a DNS-1123 label, as OpenFaaS requires), or nil.
    static func nameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard let first = bytes.first else { return "it is empty" }
        guard bytes.count <= 63 else { return "it is longer than 63 characters" }
        guard first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return "it must start with a lowercase letter" }
        guard bytes.last != UInt8(ascii: "-") else { return "it must not end with '-'" }
        let allowed = bytes.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-")
        }
        return allowed ? nil : "only lowercase letters, digits and '-' are allowed"
    }
}
