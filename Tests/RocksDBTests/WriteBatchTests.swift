import RocksDB
import Testing

@Suite struct WriteBatchTests {
    @Test func batchAppliesAcrossFamiliesAtOnce() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions(families: ["records", "log"]))
            defer { db.close() }
            let records = try #require(db.family("records"))
            let log = try #require(db.family("log"))
            try db.put(bytes("old"), bytes("x"), in: records)

            let batch = WriteBatch()
            #expect(batch.isEmpty)
            batch.put(bytes("r1"), bytes("record"), in: records)
            batch.put(bytes("l1"), bytes("entry"), in: log)
            batch.delete(bytes("old"), in: records)
            batch.deleteRange(from: bytes("a"), to: bytes("b"), in: log)
            #expect(batch.count == 4)
            #expect(!batch.isEmpty)

            // Nothing is visible before the write.
            #expect(try db.get(bytes("r1"), in: records) == nil)
            #expect(try db.get(bytes("old"), in: records) == bytes("x"))

            try db.write(batch, sync: true)
            #expect(try db.get(bytes("r1"), in: records) == bytes("record"))
            #expect(try db.get(bytes("l1"), in: log) == bytes("entry"))
            #expect(try db.get(bytes("old"), in: records) == nil)

            batch.clear()
            #expect(batch.isEmpty)
            try db.write(batch)  // an empty batch is fine
        }
    }

    @Test func batchWithFamiliesOfTwoDatabasesIsRejectedWhole() throws {
        try withTemporaryDirectory { path in
            let first = try Database.open(path: path + "/first", options: testOptions(families: ["f"]))
            let second = try Database.open(path: path + "/second", options: testOptions(families: ["f"]))
            defer {
                first.close()
                second.close()
            }
            let batch = WriteBatch()
            batch.put(bytes("patient-7"), bytes("a"), in: try #require(first.family("f")))
            batch.put(bytes("patient-7"), bytes("b"), in: try #require(second.family("f")))

            let error = try #require(throws: RocksDBError.self) { try first.write(batch) }
            #expect(error.code == .invalidArgument)
            #expect(!error.message.contains("patient-7"))
            #expect(try first.get(bytes("patient-7"), in: #require(first.family("f"))) == nil)

            // A batch of one database cannot be written to another either.
            let other = WriteBatch()
            other.put(bytes("k"), bytes("v"), in: try #require(first.family("f")))
            #expect(throws: RocksDBError.self) { try second.write(other) }
        }
    }

    @Test func batchBuiltAfterCloseFailsOnWrite() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions())
            db.close()
            let batch = WriteBatch()
            batch.put(bytes("k"), bytes("v"), in: db.defaultFamily)
            let error = try #require(throws: RocksDBError.self) { try db.write(batch) }
            #expect(error.code == .databaseClosed)
        }
    }
}
