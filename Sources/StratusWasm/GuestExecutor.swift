import Foundation

/// Dedicated threads that run guest code, so a busy guest never blocks Swift concurrency's
/// cooperative pool (which has only as many threads as cores).
final class GuestExecutor: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var jobHead = 0

    init(threads: Int) {
        for index in 0..<max(1, threads) {
            let thread = Thread { [unowned self] in self.loop() }
            thread.name = "stratus-guest-\(index)"
            thread.stackSize = 8 * 1024 * 1024
            thread.start()
        }
    }

    /// Runs `job` on a guest thread and returns its result.
    func run<T: Sendable>(_ job: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: job()) }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobHead == jobs.count { condition.wait() }
            let job = jobs[jobHead]
            jobHead += 1
            if jobHead > 1024, jobHead * 2 > jobs.count {
                jobs.removeFirst(jobHead)
                jobHead = 0
            }
            condition.unlock()
            job()
        }
    }
}
