#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A reader–writer lock over `pthread_rwlock_t`.
///
/// Every database call holds it for reading, so calls never wait for each other
/// (RocksDB does its own synchronization and group commit); only `close()` takes it
/// for writing. glibc's default rwlock prefers readers, so a thread may take the read
/// side again while holding it (for example, calling the database from inside a
/// `withValue` closure); the price is that `close()` waits until readers pause.
final class ReadWriteLock: @unchecked Sendable {
    // @unchecked: the pthread lock is the synchronization primitive itself; it lives at
    // a stable heap address for the object's lifetime.
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        rwlock = .allocate(capacity: 1)
        let status = pthread_rwlock_init(rwlock, nil)
        precondition(status == 0, "pthread_rwlock_init failed: \(status)")
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    func withReadLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        let status = pthread_rwlock_rdlock(rwlock)
        precondition(status == 0, "pthread_rwlock_rdlock failed: \(status)")
        defer { pthread_rwlock_unlock(rwlock) }
        return try body()
    }

    func withWriteLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        let status = pthread_rwlock_wrlock(rwlock)
        precondition(status == 0, "pthread_rwlock_wrlock failed: \(status)")
        defer { pthread_rwlock_unlock(rwlock) }
        return try body()
    }
}

/// A plain mutex over `pthread_mutex_t`, for short critical sections.
final class Lock: @unchecked Sendable {
    // @unchecked: as for ReadWriteLock, this is the synchronization primitive itself.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
