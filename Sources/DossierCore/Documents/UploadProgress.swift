import Foundation
import Synchronization

/// What the server remembers of open uploads between chunks, in memory only:
/// - the size each has committed, so that a chunk sent before the previous one was
///   acknowledged (several chunks in flight) waits for its turn instead of failing with
///   UPLOAD_OFFSET_MISMATCH;
/// - a running SHA-256 of the committed chunks, fed in offset order after each write, so
///   that completion need not read the whole content back.
///
/// Losing it (a restart, an eviction) costs only speed: a chunk then waits only once another
/// chunk of its upload has been written, and completion reads the content back to hash it.
final class UploadProgress: Sendable {
    /// What a chunk waits for: its predecessors written, or hashed.
    enum Position: Sendable {
        case committed, hashed
    }

    /// A chunk waiting for a position to reach its offset.
    private struct Waiter {
        let token: UInt64
        let position: Position
        let offset: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    /// A hasher is fed by one chunk at a time (the one whose offset is the hashed size), so
    /// it may cross threads.
    private struct RunningHash: @unchecked Sendable {
        let hasher: any ContentHasher
    }

    private struct Entry {
        var committed: UInt64
        /// SHA-256 of the first `hashed` bytes; nil once unknown (then completion re-reads).
        var hasher: RunningHash?
        var hashed: UInt64 = 0
        var waiters: [Waiter] = []

        func reached(_ position: Position) -> UInt64 {
            position == .committed ? committed : hashed
        }

        /// Removes and returns the waiters whose offset `position` has reached.
        mutating func ready(_ position: Position) -> [Waiter] {
            let reached = reached(position)
            let ready = waiters.filter { $0.position == position && $0.offset <= reached }
            waiters.removeAll { $0.position == position && $0.offset <= reached }
            return ready
        }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var nextToken: UInt64 = 0
    }

    /// Entries kept at most; past it those without waiters are forgotten.
    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// A new session: nothing committed, hashing from the first byte. If chunks of it already
    /// came (a second CreateUpload with the same client id answered the session before this
    /// one returned), their entry is kept, without a running hash.
    func started(_ id: String, hasher: any ContentHasher) {
        let running = RunningHash(hasher: hasher)
        state.withLock { state in
            guard state.entries[id] == nil else { return }
            makeRoom(&state)
            state.entries[id] = Entry(committed: 0, hasher: running)
        }
    }

    /// The chunk ending at `size` is written: wakes the chunk waiting to be written after it
    /// (and any before it, which will learn they are late).
    func committed(_ id: String, size: UInt64) {
        let ready: [Waiter] = state.withLock { state in
            if state.entries[id] == nil { makeRoom(&state) }
            var entry = state.entries[id] ?? Entry(committed: size)
            entry.committed = max(entry.committed, size)
            let ready = entry.ready(.committed)
            state.entries[id] = entry
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }

    /// A chunk failed after its checks (its write or fsync): the chunks waiting behind it will
    /// not get their turn, and the running hash can no longer be trusted (for good: a hasher
    /// is only ever installed by `started`, for a session no chunk has reached).
    func failed(_ id: String) {
        let waiting: [Waiter] = state.withLock { state in
            guard var entry = state.entries[id] else { return [] }
            let waiting = entry.waiters
            entry.waiters = []
            entry.hasher = nil
            state.entries[id] = entry
            return waiting
        }
        for waiter in waiting { waiter.continuation.resume(returning: false) }
    }

    /// Waits until the committed size reaches `offset` (true), or `timeout` passes or the
    /// chunk before fails (false). `known` is the committed size the caller just read.
    func waitForTurn(_ id: String, offset: UInt64, known: UInt64, timeout: Duration) async -> Bool {
        await wait(id, .committed, offset: offset, timeout: timeout) { $0.committed = max($0.committed, known) }
    }

    /// Feeds the running hash with a written chunk once the chunks before it are hashed.
    /// Gives up on the hash (completion will re-read) if they are not within `timeout`.
    func hash(_ id: String, offset: UInt64, data: [UInt8], timeout: Duration) async {
        let hashing = state.withLock { state in state.entries[id]?.hasher != nil }
        guard hashing else { return }
        guard await wait(id, .hashed, offset: offset, timeout: timeout, prepare: { _ in }) else {
            failed(id)
            return
        }
        // Only this chunk may feed the hasher now: the hashed size is its offset.
        let running: RunningHash? = state.withLock { state in
            state.entries[id]?.hashed == offset ? state.entries[id]?.hasher : nil
        }
        // No hasher (dropped meanwhile): the hashed size must not move past bytes not hashed.
        guard let running else { return }
        running.hasher.update(data[...])
        let ready: [Waiter] = state.withLock { state in
            guard var entry = state.entries[id], entry.hashed == offset else { return [] }
            entry.hashed = offset + UInt64(data.count)
            let ready = entry.ready(.hashed)
            state.entries[id] = entry
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }

    /// The running hash of the whole content if it covers exactly `size` bytes; the entry is
    /// forgotten either way.
    func finish(_ id: String, size: UInt64) -> [UInt8]? {
        guard let entry = remove(id), let running = entry.hasher, entry.hashed == size else { return nil }
        return running.hasher.finish()
    }

    /// Forgets a completed or aborted session (its waiters are told no).
    func forget(_ id: String) {
        _ = remove(id)
    }

    private func remove(_ id: String) -> Entry? {
        let entry: Entry? = state.withLock { state in state.entries.removeValue(forKey: id) }
        for waiter in entry?.waiters ?? [] { waiter.continuation.resume(returning: false) }
        return entry
    }

    private func wait(
        _ id: String, _ position: Position, offset: UInt64, timeout: Duration, prepare: (inout Entry) -> Void
    ) async -> Bool {
        await withCheckedContinuation { continuation in
            // The waiter's token, or nil when there is nothing to wait for.
            let token = state.withLock { state -> UInt64? in
                if state.entries[id] == nil {
                    guard position == .committed else { return nil }
                    makeRoom(&state)
                } else if position == .hashed, state.entries[id]?.hasher == nil {
                    return nil
                }
                var entry = state.entries[id] ?? Entry(committed: 0)
                prepare(&entry)
                defer { state.entries[id] = entry }
                guard entry.reached(position) < offset else { return nil }
                state.nextToken += 1
                entry.waiters.append(Waiter(token: state.nextToken, position: position, offset: offset, continuation: continuation))
                return state.nextToken
            }
            guard let token else {
                continuation.resume(returning: true)
                return
            }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                expire(id, token: token)
            }
        }
    }

    private func expire(_ id: String, token: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.entries[id]?.waiters.firstIndex(where: { $0.token == token }) else { return nil }
            return state.entries[id]!.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    private func makeRoom(_ state: inout State) {
        guard state.entries.count >= capacity else { return }
        state.entries = state.entries.filter { !$0.value.waiters.isEmpty }
    }
}
