import Dispatch
import RocksDB
import Testing

@Suite struct CloseTests {
    @Test func everyCallAfterCloseThrows() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions(families: ["f"]))
            let family = try #require(db.family("f"))
            try db.put(bytes("k"), bytes("v"), in: family)
            #expect(!db.isClosed)
            db.close()
            db.close()  // idempotent
            #expect(db.isClosed)

            let calls: [(String, () throws -> Void)] = [
                ("get", { _ = try db.get(bytes("k"), in: family) }),
                ("multiGet", { _ = try db.multiGet([bytes("k")], in: family) }),
                ("put", { try db.put(bytes("k"), bytes("v"), in: family) }),
                ("delete", { try db.delete(bytes("k"), in: family) }),
                ("deleteRange", { try db.deleteRange(from: bytes("a"), to: bytes("b"), in: family) }),
                ("write", { try db.write(WriteBatch()) }),
                ("iterator", { _ = try db.iterator(in: family) }),
                ("scan", { try db.scan(prefix: bytes("k"), in: family) { _, _ in true } }),
                ("snapshot", { _ = try db.snapshot() }),
                ("property", { _ = try db.property("rocksdb.stats") }),
                ("integerProperty", { _ = try db.integerProperty("rocksdb.estimate-num-keys") }),
                ("tickerStatistics", { _ = try db.tickerStatistics() }),
                ("flush", { try db.flush() }),
                ("compactRange", { try db.compactRange(in: family) }),
                ("checkpoint", { try db.createCheckpoint(at: path + "-checkpoint") }),
            ]
            for (name, call) in calls {
                let error = #expect(throws: RocksDBError.self, "\(name)") { try call() }
                #expect(error?.code == .databaseClosed, "\(name)")
                #expect(error?.message == "database is closed", "\(name)")
            }
        }
    }

    @Test func closeInvalidatesLiveIteratorsAndSnapshots() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions())
            try db.put(bytes("k"), bytes("v"), in: db.defaultFamily)
            let snapshot = try db.snapshot()
            let iterator = try db.iterator(in: db.defaultFamily, snapshot: snapshot)
            iterator.seekToFirst()
            #expect(iterator.isValid)

            db.close()
            #expect(!iterator.isValid)
            iterator.next()
            iterator.seekToFirst()
            #expect(iterator.key == [])
            let error = try #require(throws: RocksDBError.self) { try iterator.checkError() }
            #expect(error.code == .databaseClosed)
            #expect(throws: RocksDBError.self) {
                try db.get(bytes("k"), in: db.defaultFamily, snapshot: snapshot)
            }
            // The same path opens again: the LOCK was released.
            let reopened = try Database.open(path: path, options: testOptions())
            reopened.close()
        }
    }

    @Test func closeWhileOtherThreadsReadAndWrite() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions())
            try db.put(bytes("k"), bytes("v"), in: db.defaultFamily)
            let family = db.defaultFamily
            let unexpected = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                if worker == 0 {
                    for index in 0..<200 {
                        try? db.put(bytes("w\(index)"), bytes("v"), in: family)
                    }
                    db.close()
                    return
                }
                for _ in 0..<2_000 {
                    do {
                        _ = try db.get(bytes("k"), in: family)
                        let iterator = try db.iterator(in: family)
                        iterator.seekToFirst()
                        while iterator.isValid { iterator.next() }
                    } catch let error as RocksDBError where error.code == .databaseClosed {
                        return
                    } catch {
                        unexpected.withValue { $0.append("\(error)") }
                        return
                    }
                }
            }
            #expect(db.isClosed)
            #expect(unexpected.withValue { $0 } == [])
        }
    }
}
