import DossierCore
import Foundation
import RocksDB
import Testing

@testable import DossierStore

/// The pieces of early lock release (decision 0003): knowing that a lock is waited for, and the
/// shared fsync of writes made without sync.
@Suite struct EarlyLockReleaseTests {
    @Test func aHolderSeesWhenAnotherThreadWaitsForItsLock() async throws {
        let locks = StripedLocks(stripes: 4)
        let waiterStarted = DispatchSemaphore(value: 0)
        let observed: [Bool] = locks.withLocks(for: ["1985010112345"]) { (held: borrowing StripedLocks.Held) in
            var seen = [held.isContended]
            Thread.detachNewThread {
                waiterStarted.signal()
                locks.withLocks(for: ["1985010112345"]) {}
            }
            waiterStarted.wait()
            let deadline = Date().addingTimeInterval(5)
            while !held.isContended && Date() < deadline { usleep(1_000) }
            seen.append(held.isContended)
            return seen
        }
        #expect(observed == [false, true])
        // The waiter got the lock and left: nobody waits any more.
        let deadline = Date().addingTimeInterval(5)
        var contended = true
        while contended && Date() < deadline {
            contended = locks.withLocks(for: ["1985010112345"]) { (held: borrowing StripedLocks.Held) in held.isContended }
        }
        #expect(!contended)
    }

    @Test func unsyncedWritesAreDurableOnceTheirTicketIsWaitedFor() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-wal-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = DatabaseOptions()
        options.manualWALFlush = true
        let database = try Database.open(path: path, options: options)
        let sync = WALSync(database: database)
        try sync.barrier()  // nothing written: returns at once
        var tickets: [UInt64] = []
        for index in 0..<10 {
            tickets.append(try sync.write {
                try database.put(Array("key-\(index)".utf8), Array("value-\(index)".utf8), in: database.defaultFamily, sync: false)
            })
        }
        #expect(tickets == Array(1...10))
        // Still in RocksDB's log buffer: not in the log file yet.
        #expect(!Self.logFiles(in: path).contains("value-9"))
        let issued = tickets
        DispatchQueue.concurrentPerform(iterations: 10) { index in
            try? sync.waitDurable(issued[index])
        }
        #expect(Self.logFiles(in: path).contains("value-9"))

        // A reader of an unsynced write waits for it at the barrier.
        _ = try sync.write { try database.put(Array("key-10".utf8), Array("value-10".utf8), in: database.defaultFamily, sync: false) }
        #expect(try database.get(Array("key-10".utf8), in: database.defaultFamily) != nil)
        #expect(!Self.logFiles(in: path).contains("value-10"))
        try sync.barrier()
        #expect(Self.logFiles(in: path).contains("value-10"))
        database.close()
        let reopened = try Database.open(path: path, options: options)
        for index in 0...10 {
            #expect(try reopened.get(Array("key-\(index)".utf8), in: reopened.defaultFamily) == Array("value-\(index)".utf8))
        }
        reopened.close()
    }

    /// The write-ahead log files' bytes, as Latin-1 text.
    static func logFiles(in path: String) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasSuffix(".log") && $0 != "LOG" }.compactMap {
            FileManager.default.contents(atPath: path + "/" + $0).map { String(decoding: $0.map { $0 & 0x7F }, as: UTF8.self) }
        }.joined()
    }
}
