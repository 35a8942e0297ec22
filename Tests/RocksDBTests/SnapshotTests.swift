import RocksDB
import Testing

@Suite struct SnapshotTests {
    @Test func snapshotReadsIgnoreLaterWrites() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions(families: ["f"]))
            defer { db.close() }
            let family = try #require(db.family("f"))
            try db.put(bytes("a"), bytes("1"), in: family)
            let snapshot = try db.snapshot()
            try db.put(bytes("a"), bytes("2"), in: family)
            try db.put(bytes("b"), bytes("3"), in: family)

            #expect(try db.get(bytes("a"), in: family, snapshot: snapshot) == bytes("1"))
            #expect(try db.get(bytes("b"), in: family, snapshot: snapshot) == nil)
            #expect(try db.multiGet([bytes("a"), bytes("b")], in: family, snapshot: snapshot)
                == [bytes("1"), nil])
            let old = try db.entries(withPrefix: [UInt8](), in: family, snapshot: snapshot)
            #expect(old == [Entry(key: bytes("a"), value: bytes("1"))])
            #expect(try db.get(bytes("a"), in: family) == bytes("2"))
        }
    }

    @Test func snapshotOfAnotherDatabaseIsRejected() throws {
        try withTemporaryDirectory { path in
            let first = try Database.open(path: path + "/1", options: testOptions())
            let second = try Database.open(path: path + "/2", options: testOptions())
            defer {
                first.close()
                second.close()
            }
            let snapshot = try first.snapshot()
            let error = try #require(throws: RocksDBError.self) {
                try second.get(bytes("k"), in: second.defaultFamily, snapshot: snapshot)
            }
            #expect(error.code == .invalidArgument)
            #expect(throws: RocksDBError.self) {
                try second.iterator(in: second.defaultFamily, snapshot: snapshot)
            }
            #expect(throws: RocksDBError.self) {
                try second.get(bytes("k"), in: first.defaultFamily)
            }
        }
    }
}
