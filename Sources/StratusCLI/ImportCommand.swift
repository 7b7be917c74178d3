import ArgumentParser
import Foundation
import StratusStack

/// `stratus import serverless.yml`: a Serverless Framework file (SCF component or Lambda service) to a stack.yml.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Serverless Framework serverless.yml (Tencent SCF or AWS Lambda) into a stack.yml.",
        discussion: """
            Reads a Tencent SCF component file (component: scf, inputs: name, src, handler, runtime, \
            memorySize, timeout, environment, layers, events) or a service file (provider + functions, as for \
            AWS Lambda) and writes a stack.yml: custom runtimes become `lang: bootstrap` with _HANDLER set, \
            memory a limit, timeouts and API gateway events annotations (com.stratus.timeout, \
            com.stratus.event-format), layers `layers:` entries. Everything it could not map is listed. \
            Then: publish the layers (stratus layer publish NAME DIR) and run `stratus up`.
            """)
    @Argument(help: "The Serverless Framework file.") var file: String = "serverless.yml"
    @Option(name: [.short, .long], help: "Where to write the stack file.") var output: String = "stack.yml"
    @Flag(name: .long, help: "Replace the output file if it exists.") var force = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        let result: ServerlessImport.Result
        do { result = try ServerlessImport.convert(String(decoding: data, as: UTF8.self), file: file) } catch { throw CLIError(error.description) }
        // What is written must be a stack file Stratus itself reads.
        do { _ = try StackParser.parse(result.stackYAML, file: output) } catch { throw CLIError("internal error: the converted stack does not parse: \(error)") }
        if FileManager.default.fileExists(atPath: output), !force {
            throw CLIError("\(output) exists: choose another with -o, or replace it with --force")
        }
        do { try Data(result.stackYAML.utf8).write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
            throw CLIError("cannot write \(output): \(error.localizedDescription)")
        }
        print("Wrote \(output) with \(result.functionNames.count) function\(result.functionNames.count == 1 ? "" : "s"): \(result.functionNames.joined(separator: ", "))")
        if !result.unmapped.isEmpty {
            print("Not carried over as it is (\(result.unmapped.count)):")
            for note in result.unmapped { print("  - \(note)") }
        }
    }
}
