import Foundation
import Synchronization

/// The threads classic calls run on (each blocks in `poll` for its call's whole life): a thread
/// that finished a call waits a while for the next one instead of exiting, so a call usually
/// starts on a parked thread rather than a new one.
final class CallThreads: Sendable {
    static let shared = CallThreads()

    /// How long a parked thread waits for work before it exits.
    static let idleSeconds = 10.0

    private final class Worker: Sendable {
        let wake = DispatchSemaphore(value: 0)
        let job = Mutex<(@Sendable () -> Void)?>(nil)
    }

    private let idle = Mutex<[Worker]>([])

    /// Runs `job` on a parked thread, or a new one when none is parked.
    func run(_ job: @escaping @Sendable () -> Void) {
        if let worker = idle.withLock({ $0.popLast() }) {
            worker.job.withLock { $0 = job }
            worker.wake.signal()
            return
        }
        let worker = Worker()
        worker.job.withLock { $0 = job }
        Thread.detachNewThread { [self] in serve(worker) }
    }

    private func serve(_ worker: Worker) {
        while true {
            if let job = worker.job.withLock({ job in defer { job = nil }; return job }) { job() }
            idle.withLock { $0.append(worker) }
            if worker.wake.wait(timeout: .now() + Self.idleSeconds) == .success { continue }
            // Timed out: leave, unless a call picked this thread just now (its job is on the way).
            let left = idle.withLock { workers -> Bool in
                guard let index = workers.firstIndex(where: { $0 === worker }) else { return false }
                workers.remove(at: index)
                return true
            }
            if left { return }
            worker.wake.wait()
        }
    }
}
