import Foundation
import RocksDB
import Testing

@Suite struct ConcurrencyTests {
    /// Synced batches from many threads at once all succeed and are all visible. No Swift
    /// lock serializes writers, so RocksDB can group-commit them (one fsync for several).
    @Test func concurrentSyncedWritesAcrossFamilies() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions(families: ["a", "b"]))
            defer { db.close() }
            let a = try #require(db.family("a"))
            let b = try #require(db.family("b"))
            let failures = Locked<[String]>([])
            // Real threads: concurrentPerform would run only one worker per core.
            let done = DispatchGroup()
            for worker in 0..<8 {
                done.enter()
                Thread.detachNewThread {
                    defer { done.leave() }
                    for index in 0..<50 {
                        let batch = WriteBatch()
                        batch.put(bytes("w\(worker)-\(index)"), bytes("a"), in: a)
                        batch.put(bytes("w\(worker)-\(index)"), bytes("b"), in: b)
                        do {
                            try db.write(batch, sync: true)
                        } catch {
                            failures.withValue { $0.append("\(error)") }
                        }
                    }
                }
            }
            done.wait()
            #expect(failures.withValue { $0 } == [])
            #expect(try db.entries(withPrefix: bytes("w"), in: a).count == 400)
            #expect(try db.entries(withPrefix: bytes("w"), in: b).count == 400)
        }
    }
}
