import Foundation

/// Splits an OpenFaaS `fprocess` string into arguments: whitespace separates, quotes group, `\` escapes.
enum CommandSplitter {
    static func split(_ text: String) -> [String] {
        var arguments: [String] = []
        var current = ""
        var inArgument = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" && quote != "'" {
                escaped = true
                inArgument = true
            } else if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inArgument = true
            } else if character.isWhitespace {
                if inArgument { arguments.append(current) }
                current = ""
                inArgument = false
            } else {
                current.append(character)
                inArgument = true
            }
        }
        if inArgument { arguments.append(current) }
        return arguments
    }

    /// The absolute path `name` runs from: relative to `directory` when it names a path, else on `PATH`.
    static func resolve(_ name: String, in directory: URL?, path: String) -> String? {
        let files = FileManager.default
        if name.contains("/") {
            let candidate = name.hasPrefix("/") ? name : (directory ?? URL(fileURLWithPath: files.currentDirectoryPath)).appendingPathComponent(name).path
            return files.isExecutableFile(atPath: candidate) ? candidate : nil
        }
        for entry in path.split(separator: ":") where !entry.isEmpty {
            let candidate = "\(entry)/\(name)"
            if files.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
