import Foundation
import Synchronization

/// Serializes read-modify-write transactions per record without a lock per record: a record
/// maps to one of a fixed number of locks. Transactions over several records take their locks
/// in ascending stripe order, so they cannot deadlock. Each lock counts the threads waiting
/// for it, so that a holder can tell whether it is holding anyone up.
final class StripedLocks: Sendable {
    fileprivate final class Stripe: Sendable {
        let lock = NSLock()
        let waiting = Atomic<Int>(0)
    }

    /// The stripes a holder holds, to ask whether anyone waits for them.
    struct Held: ~Copyable {
        fileprivate let stripes: [Stripe]

        /// Whether another thread is waiting for one of these locks now.
        var isContended: Bool {
            stripes.contains { $0.waiting.load(ordering: .relaxed) > 0 }
        }
    }

    private let stripes: [Stripe]

    init(stripes: Int = 1024) {
        self.stripes = (0..<stripes).map { _ in Stripe() }
    }

    /// Runs `body` holding the locks of every key.
    func withLocks<T>(for keys: [String], _ body: () throws -> T) rethrows -> T {
        try withLocks(for: keys) { (_: borrowing Held) in try body() }
    }

    /// Runs `body` holding the locks of every key; `body` may ask whether others wait for them.
    func withLocks<T>(for keys: [String], _ body: (borrowing Held) throws -> T) rethrows -> T {
        let held = Set(keys.map(stripe(of:))).sorted().map { stripes[$0] }
        for stripe in held where !stripe.lock.try() {
            stripe.waiting.add(1, ordering: .relaxed)
            stripe.lock.lock()
            stripe.waiting.subtract(1, ordering: .relaxed)
        }
        defer { for stripe in held.reversed() { stripe.lock.unlock() } }
        return try body(Held(stripes: held))
    }

    private func stripe(of key: String) -> Int {
        // FNV-1a: stable and cheap; the distribution only needs to be even.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(stripes.count))
    }
}
