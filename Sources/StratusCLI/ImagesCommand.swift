import ArgumentParser
import Foundation

/// `stratus images`: the container images this server pulled.
struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the container images the server pulled, with their size and the functions running them.",
        discussion: """
            A deploy whose image names a registry (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:…) and sets no \
            envProcess pulls the image (skopeo), pins it by digest, unpacks it once per digest (umoci) and runs \
            its watchdog under runc as http-mode replicas. Plain-HTTP registries need \
            `stratus serve --insecure-registry HOST:PORT`.
            """)
    @OptionGroup var options: GatewayOptions

    struct Image: Codable {
        var reference: String
        var digest: String
        var architecture: String
        var size: Int
        var pulledAt: String
        var functions: [String]
    }

    func run() async throws {
        let client = options.client()
        let images = try client.decode([Image].self, try await client.expectSuccess(.GET, "/system/images"))
        if options.json { return try printJSON(images) }
        let rows = images.map { image -> [String] in
            [image.reference, String(image.digest.prefix(19)), String(format: "%.1f MiB", Double(image.size) / 1_048_576),
             image.functions.isEmpty ? "-" : image.functions.joined(separator: ","), image.pulledAt]
        }
        printTable([["IMAGE", "DIGEST", "SIZE", "FUNCTIONS", "PULLED"]] + rows)
    }
}
