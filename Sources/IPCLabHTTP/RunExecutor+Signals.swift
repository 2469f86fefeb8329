#if canImport(Glibc)
import Glibc
#endif

extension RunExecutor {
    /// One lock and two conditions on it: one the workers wait on, one the expirer waits on, so that
    /// work arriving wakes one worker (and the expirer only when it sleeps with nothing to expire)
    /// instead of every thread (see ``Core``). `NSCondition` pairs one condition with its own lock,
    /// so it cannot give two conditions over the same state.
    final class Signals: @unchecked Sendable {
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let workers = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        private let expirer = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

        init() {
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(workers, nil)
            // The expirer's deadlines are on the monotonic clock: a wall-clock step must not move them.
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            pthread_cond_init(expirer, &attributes)
            pthread_condattr_destroy(&attributes)
        }

        deinit {
            pthread_cond_destroy(expirer)
            pthread_cond_destroy(workers)
            pthread_mutex_destroy(mutex)
            expirer.deallocate()
            workers.deallocate()
            mutex.deallocate()
        }

        func lock() { pthread_mutex_lock(mutex) }
        func unlock() { pthread_mutex_unlock(mutex) }

        /// Waits (lock held) until a worker is woken; may return spuriously.
        func waitWorker() { pthread_cond_wait(workers, mutex) }
        /// Wakes one waiting worker (lock held).
        func wakeWorker() { pthread_cond_signal(workers) }
        /// Wakes every waiting worker (lock held).
        func wakeWorkers() { pthread_cond_broadcast(workers) }

        /// Waits (lock held) until the expirer is woken or `deadline` passes (nil: no deadline); may return spuriously.
        func waitExpirer(until deadline: ContinuousClock.Instant?) {
            guard let deadline else {
                pthread_cond_wait(expirer, mutex)
                return
            }
            let left = ContinuousClock.now.duration(to: deadline)
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let nanoseconds = max(0, left.components.seconds) * 1_000_000_000
                + (left.components.seconds < 0 ? 0 : left.components.attoseconds / 1_000_000_000)
                + Int64(now.tv_nsec)
            var until = timespec(tv_sec: now.tv_sec + Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
            _ = pthread_cond_timedwait(expirer, mutex, &until)
        }

        /// Wakes the expirer (lock held).
        func wakeExpirer() { pthread_cond_signal(expirer) }
    }
}
