import ArgumentParser
import Foundation
import StratusModel

/// `stratus site deploy|list|remove`: static sites served under /sites/NAME/.
struct Site: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage static sites, served under /sites/NAME/.",
        discussion: """
            A site is a folder of files (with an index.html at its top) served as it is, without \
            credentials, at GATEWAY/sites/NAME/. Deploy one on its own with `stratus site deploy NAME DIR`, \
            or with a function: the annotation com.stratus.site: ./folder in stack.yml makes `stratus up` \
            and `stratus deploy` publish the folder as the function's site, removed with the function.
            """,
        subcommands: [SiteDeploy.self, SiteList.self, SiteRemove.self])
}

struct SiteDeploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deploy", abstract: "Publish a folder as site NAME (replacing what it served).")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Site name (lowercase letters, digits and '-').") var name: String
    @Argument(help: "The folder to publish; it needs an index.html.") var directory: String

    func run() async throws {
        if let problem = FunctionName.problem(with: name) { throw ValidationError("invalid site name '\(name)': \(problem)") }
        let client = options.client()
        let status = try await deploySite(name, folder: URL(fileURLWithPath: directory), client: client)
        if options.json { try printJSON(status) }
    }
}

struct SiteList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the sites.", aliases: ["ls"])
    @OptionGroup var options: GatewayOptions

    func run() async throws {
        let client = options.client()
        let sites = try client.decode([SiteStatus].self, try await client.expectSuccess(.GET, "/system/sites"))
        if options.json { return try printJSON(sites) }
        printTable([["Site", "Files", "Digest", "URL"]] + sites.map { [$0.name, String($0.files), String($0.digest.prefix(19)), client.baseURL + $0.url] })
    }
}

struct SiteRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Stop serving sites.", aliases: ["rm"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Site names.") var names: [String]

    func run() async throws {
        guard !names.isEmpty else { throw ValidationError("name at least one site to remove") }
        let client = options.client()
        for name in names {
            _ = try await client.expectSuccess(.DELETE, "/system/sites/\(name)")
            print("Removed site: \(name)")
        }
    }
}

/// Packs `folder` (tar.gz, its contents at the top) and publishes it as site `name`.
@discardableResult
func deploySite(_ name: String, folder: URL, client: GatewayClient) async throws -> SiteStatus {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CLIError("site \(name): \(folder.path) is not a folder")
    }
    guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("index.html").path) else {
        throw CLIError("site \(name): \(folder.path) has no index.html")
    }
    let archive = try packFolder(folder)
    let reply = try await client.expectSuccess(.PUT, "/system/sites/\(name)", body: archive, headers: [("Content-Type", "application/gzip")])
    let status = try client.decode(SiteStatus.self, reply)
    print("Deployed site \(name) (\(status.files) file\(status.files == 1 ? "" : "s")): \(client.baseURL)\(status.url)")
    return status
}

/// `folder`'s contents as a gzip'd tar archive (hidden files left out; links followed).
func packFolder(_ folder: URL) throws -> [UInt8] {
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/bin/tar")
    tar.arguments = ["-czf", "-", "--dereference", "--exclude=*/.*", "--owner=0", "--group=0", "-C", folder.path, "."]
    let output = Pipe(), errors = Pipe()
    tar.standardOutput = output
    tar.standardError = errors
    do { try tar.run() } catch { throw CLIError("cannot run /bin/tar: \(error.localizedDescription)") }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    tar.waitUntilExit()
    guard tar.terminationStatus == 0 else { throw CLIError("cannot pack \(folder.path): \(message)") }
    return Array(data)
}

/// A function's site (annotation `com.stratus.site: ./folder`) is published as site NAME and the
/// annotation rewritten to its digest; a digest is left as it is.
func deployFunctionSite(_ annotations: [String: String]?, function: String, directory: URL, client: GatewayClient) async throws -> [String: String]? {
    guard var annotations, let value = annotations[SiteStatus.annotation], !value.hasPrefix("sha256:") else { return annotations }
    let folder = value.hasPrefix("/") ? URL(fileURLWithPath: value) : directory.appendingPathComponent(value)
    let status = try await deploySite(function, folder: folder, client: client)
    annotations[SiteStatus.annotation] = status.digest
    return annotations
}
