import NIOConcurrencyHelpers
import NIOCore

/// The memory budget for work in flight, shared by every connection: bytes of requests admitted
/// and not yet answered (their payloads, and a fixed allowance for building each answer). A
/// connection whose next request does not fit stops reading (TCP backpressure) until earlier
/// calls finish; one that waits longer than `maxWait` gets RESOURCE_EXHAUSTED with a retry hint
/// for that request, whose payload is then dropped.
///
/// Small requests (at most `smallRequest` bytes: reads, searches, health) draw first on a small
/// reserve of their own, so that a flood of large deposits cannot starve them.
public final class InflightBudget: Sendable {
    public let limit: Int
    public let maxWait: TimeAmount
    /// Counted for every call on top of its payload: the answer being built.
    public static let perCallAllowance = 16 << 10
    public static let smallRequest = 64 << 10
    /// Room kept for small requests past `limit`.
    public let smallReserve: Int

    private struct State {
        var used = 0
        var usedSmall = 0
        var waiters: [Waiter] = []
        var nextID = 0
    }

    /// Bytes reserved for one request, and from which pool.
    public struct Reservation: Sendable {
        public let bytes: Int
        let small: Bool
    }

    private struct Waiter {
        let id: Int
        let bytes: Int
        let loop: any EventLoop
        let grant: @Sendable (Reservation) -> Void
    }

    private let state = NIOLockedValueBox(State())

    public init(limit: Int, maxWait: TimeAmount = .seconds(2), smallReserve: Int = 32 << 20) {
        self.limit = max(limit, 1 << 20)
        self.maxWait = maxWait
        self.smallReserve = smallReserve
    }

    /// What a request of `payload` bytes reserves.
    public static func cost(ofPayload payload: Int) -> Int { payload + perCallAllowance }

    /// Reserves `bytes` if they fit now (behind nobody waiting, so that large requests are not
    /// overtaken forever; small ones may use the small reserve).
    public func tryReserve(_ bytes: Int) -> Reservation? {
        state.withLockedValue { state in Self.take(bytes, from: &state, limit: limit, smallReserve: smallReserve) }
    }

    private static func take(_ bytes: Int, from state: inout State, limit: Int, smallReserve: Int) -> Reservation? {
        let isSmall = bytes <= smallRequest + perCallAllowance
        // A request larger than the whole budget still runs, alone.
        if state.used + bytes <= limit || (state.used == 0 && state.usedSmall == 0), state.waiters.isEmpty || isSmall {
            state.used += bytes
            return Reservation(bytes: bytes, small: false)
        }
        if isSmall, state.usedSmall + bytes <= smallReserve {
            state.usedSmall += bytes
            return Reservation(bytes: bytes, small: true)
        }
        return nil
    }

    /// Reserves `bytes` now (`.reserved`), or queues the request: `grant` is then called on
    /// `loop` once its bytes are reserved, unless the wait is cancelled first.
    public enum Admission: Sendable {
        case reserved(Reservation)
        case waiting(token: Int)
    }

    public func reserve(_ bytes: Int, on loop: any EventLoop, grant: @escaping @Sendable (Reservation) -> Void) -> Admission {
        state.withLockedValue { state in
            if let reservation = Self.take(bytes, from: &state, limit: limit, smallReserve: smallReserve) { return .reserved(reservation) }
            state.nextID += 1
            state.waiters.append(Waiter(id: state.nextID, bytes: bytes, loop: loop, grant: grant))
            return .waiting(token: state.nextID)
        }
    }

    /// Gives up a wait; returns false when it was granted meanwhile (the bytes are then the
    /// caller's, to release).
    public func cancel(_ token: Int) -> Bool {
        state.withLockedValue { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == token }) else { return false }
            state.waiters.remove(at: index)
            return true
        }
    }

    /// Returns a reservation; waiters that now fit are granted, in order.
    public func release(_ reservation: Reservation) {
        let granted: [Waiter] = state.withLockedValue { state in
            if reservation.small { state.usedSmall -= reservation.bytes } else { state.used -= reservation.bytes }
            var granted: [Waiter] = []
            while let first = state.waiters.first, state.used + first.bytes <= limit || state.used == 0 {
                state.used += first.bytes
                granted.append(state.waiters.removeFirst())
            }
            return granted
        }
        for waiter in granted {
            let reservation = Reservation(bytes: waiter.bytes, small: false)
            waiter.loop.execute { waiter.grant(reservation) }
        }
    }

    /// Bytes reserved now (for the metrics).
    public var inUse: Int { state.withLockedValue { $0.used + $0.usedSmall } }
    /// Requests waiting for room now.
    public var waiting: Int { state.withLockedValue { $0.waiters.count } }
}
