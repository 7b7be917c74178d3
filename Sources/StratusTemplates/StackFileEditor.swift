import Foundation

/// Writes and extends OpenFaaS stack files as text, so the user's formatting and comments survive.
enum StackFileEditor {
    /// One function's entry under `functions:`.
    struct Entry {
        var name: String
        var lang: String
        var handler: String
        var image: String

        /// The entry's lines, with the function key at `indent` and its fields one `step` deeper.
        func lines(indent: String, step: String) -> [String] {
            [
                "\(indent)\(name):",
                "\(indent)\(step)lang: \(lang)",
                "\(indent)\(step)handler: \(StackFileEditor.scalar(handler))",
                "\(indent)\(step)image: \(StackFileEditor.scalar(image))",
            ]
        }
    }

    /// A new stack file holding just `entry`.
    static func newStack(_ entry: Entry, gateway: String) -> String {
        (["version: 1.0", "provider:", "  name: openfaas", "  gateway: \(scalar(gateway))", "functions:"]
            + entry.lines(indent: "  ", step: "  ")).joined(separator: "\n") + "\n"
    }

    /// `text` with `entry` appended at the end of its top-level `functions:` mapping (added when absent).
    static func adding(_ entry: Entry, to text: String, path: String) throws(TemplateError) -> String {
        let newline = text.contains("\r\n") ? "\r\n" : "\n"
        var lines = text.components(separatedBy: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        let endedWithNewline = lines.last == ""
        if endedWithNewline { lines.removeLast() }

        guard let header = lines.firstIndex(where: { isTopLevelKey($0, "functions") }) else {
            // No functions section yet: add one at the end.
            lines += ["functions:"] + entry.lines(indent: "  ", step: "  ")
            return lines.joined(separator: newline) + newline
        }
        let inline = value(ofTopLevelKey: lines[header])
        guard inline.isEmpty || inline.hasPrefix("#") else {
            throw TemplateError(.unsupportedStackFile(path: path, reason: "`functions:` is written inline (\(inline)); use block style"))
        }
        // The section runs until the next line that starts in column 0 (another key, `---`, …).
        var end = header + 1
        while end < lines.count, isBlankOrComment(lines[end]) || lines[end].first == " " || lines[end].first == "\t" {
            end += 1
        }
        let content = (header + 1..<end).filter { !isBlankOrComment(lines[$0]) }
        let indent = content.map { indentation(of: lines[$0]) }.min() ?? "  "
        var existing: [String] = []
        var step: String?  // the first function's field indentation, relative to its key
        for index in content {
            let lineIndent = indentation(of: lines[index])
            if lineIndent == indent {
                existing.append(keyName(lines[index]))
            } else if step == nil, lineIndent.count > indent.count, lineIndent.hasPrefix(indent) {
                step = String(lineIndent.dropFirst(indent.count))
            }
        }
        if existing.contains(entry.name) {
            throw TemplateError(.functionExists(name: entry.name, stackFile: path))
        }
        let insertAt = (content.last ?? header) + 1
        lines.insert(contentsOf: entry.lines(indent: indent, step: step ?? "  "), at: insertAt)
        return lines.joined(separator: newline) + newline
    }

    /// Whether `line` is `key:` starting in column 0.
    static func isTopLevelKey(_ line: String, _ key: String) -> Bool {
        guard line.first != " ", line.first != "\t" else { return false }
        let name = keyName(line)
        return name == key && line.drop(while: { $0 != ":" }).hasPrefix(":")
    }

    /// What follows `key:` on the line, trimmed.
    static func value(ofTopLevelKey line: String) -> String {
        guard let colon = line.firstIndex(of: ":") else { return "" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// The mapping key a line starts, without indentation or quotes (`  "hello": x` → `hello`).
    static func keyName(_ line: String) -> String {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let key = trimmed.prefix { $0 != ":" }.trimmingCharacters(in: .whitespaces)
        if key.count >= 2, let first = key.first, first == "\"" || first == "'", key.last == first {
            return String(key.dropFirst().dropLast())
        }
        return key
    }

    static func isBlankOrComment(_ line: String) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || trimmed.hasPrefix("#")
    }

    static func indentation(of line: String) -> String {
        String(line.prefix { $0 == " " || $0 == "\t" })
    }

    /// `text` as a YAML scalar, quoted when a plain scalar would be misread.
    static func scalar(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._:/@%+=~?&,-".unicodeScalars.contains($0) }
        let first = text.first
        if !text.isEmpty, safe, !text.contains(": "), first != "-", first != "?", first != ":", first != "@", first != "%" {
            return text
        }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }

    /// `target` relative to `base` (`./hello`), or its absolute path when it is not below `base`.
    static func relativePath(of target: URL, from base: URL) -> String {
        let targetParts = target.standardizedFileURL.pathComponents
        let baseParts = base.standardizedFileURL.pathComponents
        guard targetParts.starts(with: baseParts), targetParts.count > baseParts.count else { return target.standardizedFileURL.path }
        return "./" + targetParts.dropFirst(baseParts.count).joined(separator: "/")
    }
}
