import Foundation

/// Dedicated threads that run guest code, so a busy guest never blocks Swift concurrency's
/// cooperative pool (which has only as many threads as cores). The threads end when the executor does.
final class GuestExecutor: Sendable {
    private let queue = JobQueue()

    init(threads: Int) {
        for index in 0..<max(1, threads) {
            let queue = queue
            let thread = Thread { queue.drain() }
            thread.name = "stratus-guest-\(index)"
            thread.stackSize = 8 * 1024 * 1024
            thread.start()
        }
    }

    deinit {
        queue.shutDown()
    }

    /// Runs `job` on a guest thread and returns its result.
    func run<T: Sendable>(_ job: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.submit { continuation.resume(returning: job()) }
        }
    }
}

/// A FIFO of jobs shared by the guest threads.
private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var closed = false

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func shutDown() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Runs jobs until the queue is shut down and empty.
    func drain() {
        while true {
            condition.lock()
            while head == jobs.count && !closed { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head > 1024, head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
        }
    }
}
