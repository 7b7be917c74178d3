import Foundation
import Yams

/// Reads OpenFaaS stack files (`stack.yml`) into `StackFile`.
///
/// The text first goes through faas-cli's `${VAR}` substitution (see `EnvSubst`), then is parsed as
/// YAML and checked against faas-cli 0.16's schema. Unlike faas-cli, unknown fields are errors.
public enum StackParser {
    /// Parses the text of a stack file; `file` names it in errors.
    public static func parse(
        _ text: String, file: String, environment: [String: String] = StackParser.processEnvironment
    ) throws(StackError) -> StackFile {
        // libyaml rejects a byte-order mark handed over inside a Swift string; editors may write one.
        let text = text.unicodeScalars.first == "\u{FEFF}" ? String(text.unicodeScalars.dropFirst()) : text
        let expansion: EnvSubst.Expansion
        do {
            expansion = try EnvSubst.expandTracking(text, environment: environment)
        } catch {
            let scalars = Array(text.unicodeScalars)
            let (line, column) = SourceMap.position(of: error.offset, lineStarts: SourceMap.lineStarts(scalars))
            let rest = scalars[error.offset...].prefix { $0 != "\n" && $0 != "\r" }.prefix(40)
            let snippet = String(String.UnicodeScalarView(rest)).trimmingCharacters(in: .whitespaces)
            throw StackError(
                file: file, line: line, column: column,
                message: "bad substitution `\(snippet)`: faas-cli's envsubst cannot expand it")
        }
        let reader = NodeReader(file: file, sourceMap: SourceMap(original: text, expansion: expansion))
        let root: Node?
        do {
            root = try Parser(yaml: expansion.text).nextRoot()
        } catch let error as YamlError {
            throw yamlError(error, file: file, text: expansion.text, sourceMap: reader.sourceMap)
        } catch {
            throw StackError(file: file, message: "invalid YAML: \(error)")
        }
        return try StackDecoder(reader: reader).stack(root)
    }

    /// Reads and parses the stack file at `path`; errors name the path as given.
    public static func load(
        path: String, environment: [String: String] = StackParser.processEnvironment
    ) throws(StackError) -> StackFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StackError(file: path, message: "no such file")
        }
        guard !isDirectory.boolValue else { throw StackError(file: path, message: "is a directory, not a stack file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StackError(file: path, message: "cannot read the file")
        }
        guard let text = String(bytes: data, encoding: .utf8) else {
            throw StackError(file: path, message: "the file is not UTF-8 text")
        }
        return try parse(text, file: path, environment: environment)
    }

    /// Reads a faas-cli `environment_file` (YAML with one `environment:` map of strings).
    public static func loadEnvironmentFile(path: String) throws(StackError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(bytes: data, encoding: .utf8) else {
            throw StackError(file: path, message: "cannot read the environment file")
        }
        let reader = NodeReader(file: path, sourceMap: nil)
        let root: Node?
        do {
            root = try Parser(yaml: text).nextRoot()
        } catch let error as YamlError {
            throw yamlError(error, file: path, text: text, sourceMap: nil)
        } catch {
            throw StackError(file: path, message: "invalid YAML: \(error)")
        }
        guard let root, !NodeReader.isNull(root) else { return [:] }
        let fields = try reader.fields(root, "", known: ["environment"])
        return try reader.stringMap(fields["environment"], "environment")
    }

    /// The environment of this process, the default source for `${VAR}` values.
    @usableFromInline
    static var processEnvironment: [String: String] { ProcessInfo.processInfo.environment }

    /// Converts a Yams error into a `StackError` at the line and column Yams reports, mapped back
    /// through `${VAR}` expansion when `sourceMap` is given.
    static func yamlError(_ error: YamlError, file: String, text: String, sourceMap: SourceMap?) -> StackError {
        func place(_ line: Int, _ column: Int) -> (line: Int, column: Int) {
            sourceMap?.original(line: line, column: column) ?? (line, column)
        }
        func describe(_ context: YamlError.Context?) -> String {
            guard let context else { return "" }
            let (line, column) = place(context.mark.line, context.mark.column)
            return " (\(context.text) at line \(line), column \(column))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let (line, column) = place(mark.line, mark.column)
            return StackError(
                file: file, line: line, column: column, message: "invalid YAML: \(problem)\(describe(context))")
        case .reader(let problem, let offset, _, _):
            guard let offset else { return StackError(file: file, message: "invalid YAML: \(problem)") }
            let prefix = Array(text.prefix(offset).unicodeScalars)
            let at = SourceMap.position(of: prefix.count, lineStarts: SourceMap.lineStarts(prefix))
            let (line, column) = place(at.line, at.column)
            return StackError(file: file, line: line, column: column, message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            let (line, column) = place(context.mark.line, context.mark.column)
            return StackError(
                file: file, line: line, column: column, message: "duplicate key \(keys); keys in a mapping must be unique")
        default:
            return StackError(file: file, message: "invalid YAML: \(error)")
        }
    }
}
