import Foundation

/// Serializes read-modify-write transactions per record without a lock per record: a record
/// maps to one of a fixed number of locks. Transactions over several records take their locks
/// in ascending stripe order, so they cannot deadlock.
final class StripedLocks: Sendable {
    private let locks: [NSLock]

    init(stripes: Int = 1024) {
        locks = (0..<stripes).map { _ in NSLock() }
    }

    /// Runs `body` holding the locks of every key.
    func withLocks<T>(for keys: [String], _ body: () throws -> T) rethrows -> T {
        let stripes = Set(keys.map(stripe(of:))).sorted()
        for index in stripes { locks[index].lock() }
        defer { for index in stripes.reversed() { locks[index].unlock() } }
        return try body()
    }

    private func stripe(of key: String) -> Int {
        // FNV-1a: stable and cheap; the distribution only needs to be even.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(locks.count))
    }
}
