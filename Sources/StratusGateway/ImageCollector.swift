import Foundation
import Logging
import ServiceLifecycle
import StratusImages
import StratusModel
import StratusStore

/// Removes container images no function has used for `grace` (`--image-gc-after`): an image stays
/// while any function (in the store, so on any node of a cluster) runs its digest, and for the grace
/// period after the last one went, so a quick redeploy does not pull it again.
struct ImageCollector: Service {
    let images: ImageStore?
    let registry: any FunctionRegistry
    let grace: Double
    let logger: Logger

    func run() async throws {
        var unusedSince: [Digest: ContinuousClock.Instant] = [:]
        let interval = max(0.5, min(grace / 2, 30))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // A stop does not wait out the pause.
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(interval * 1000))) }
            guard let images, let specs = try? await registry.functions() else { continue }
            let used = Set(specs.compactMap(\.imageDigest))
            let now = ContinuousClock.now
            for image in await images.images() {
                guard !used.contains(image.digest) else {
                    unusedSince[image.digest] = nil
                    continue
                }
                let since = unusedSince[image.digest] ?? now
                unusedSince[image.digest] = since
                if since.duration(to: now) >= .milliseconds(Int64(grace * 1000)) {
                    await images.remove(image.digest)
                    unusedSince[image.digest] = nil
                    logger.info("removed an unused container image", metadata: [
                        "image": "\(image.reference)", "digest": "\(image.digest)", "bytes": "\(image.size)",
                    ])
                }
            }
        }
    }
}
