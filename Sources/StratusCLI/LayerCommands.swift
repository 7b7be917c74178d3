import ArgumentParser
import Foundation
import StratusModel

/// `stratus layer publish|list|remove`: versioned bundles functions see read-only at /opt.
struct Layer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage layers: versioned bundles functions see read-only at /opt.",
        discussion: """
            A layer is a folder (dependencies, tools, models) published once and shared by functions, as \
            in AWS Lambda and Tencent SCF. `stratus layer publish NAME DIR` stores it content-addressed: \
            new contents get the next version, the same contents keep theirs. Functions list layers in \
            stack.yml (`layers: [deps, tools:2]`, or the annotation com.stratus.layers: deps,tools:2); a \
            name without a version is pinned to the latest at deploy. They appear at /opt, later layers' \
            files over earlier ones': process functions see them inside their sandbox, Wasm functions as a \
            preopened read-only /opt.
            """,
        subcommands: [LayerPublish.self, LayerList.self, LayerRemove.self])
}

struct LayerPublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "publish", abstract: "Publish a folder as the next version of layer NAME.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Layer name (lowercase letters, digits and '-').") var name: String
    @Argument(help: "The folder whose contents appear at /opt.") var directory: String

    func run() async throws {
        if let problem = FunctionName.problem(with: name) { throw ValidationError("invalid layer name '\(name)': \(problem)") }
        let folder = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("layer \(name): \(folder.path) is not a folder")
        }
        let client = options.client()
        let reply = try await client.expectSuccess(.POST, "/system/layers/\(name)", body: try packFolder(folder),
                                                   headers: [("Content-Type", "application/gzip")])
        let record = try client.decode(LayerRecord.self, reply)
        if options.json { return try printJSON(record) }
        print(reply.status == 201 ? "Published layer \(record.reference) (\(record.size) bytes, \(record.digest))"
                                  : "Layer \(name) already holds these contents as version \(record.version)")
    }
}

struct LayerList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List layer versions.", aliases: ["ls"])
    @OptionGroup var options: GatewayOptions

    func run() async throws {
        let client = options.client()
        let layers = try client.decode([LayerRecord].self, try await client.expectSuccess(.GET, "/system/layers"))
        if options.json { return try printJSON(layers) }
        printTable([["Layer", "Version", "Size", "Digest"]] + layers.map { [$0.name, String($0.version), String($0.size), String($0.digest.description.prefix(19))] })
    }
}

struct LayerRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a layer version no function uses.", aliases: ["rm"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "NAME:VERSION") var reference: String

    func run() async throws {
        let parsed: LayerReference
        do { parsed = try LayerReference(parsing: reference) } catch { throw ValidationError("\(error)") }
        guard let version = parsed.version else { throw ValidationError("name the version to remove: \(parsed.name):VERSION") }
        let client = options.client()
        _ = try await client.expectSuccess(.DELETE, "/system/layers/\(parsed.name)/\(version)")
        print("Removed layer \(parsed.name):\(version)")
    }
}
