import ServiceLifecycle
import StratusInvoker

/// Runs the invoker's autoscaler step once a second while the server runs.
struct Autoscaler: Service {
    let invoker: Invoker

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            invoker.autoscaleTick()
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
