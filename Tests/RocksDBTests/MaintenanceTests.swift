import Foundation
import RocksDB
import Testing

@Suite struct MaintenanceTests {
    @Test func checkpointOpensWithTheData() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path + "/db", options: testOptions(families: ["f"]))
            defer { db.close() }
            let family = try #require(db.family("f"))
            try db.put(bytes("flushed"), bytes("1"), in: family)
            try db.flush()
            try db.put(bytes("in-memtable"), bytes("2"), in: family)

            try db.createCheckpoint(at: path + "/backup")
            // The target must not exist.
            #expect(throws: RocksDBError.self) { try db.createCheckpoint(at: path + "/backup") }
            try db.put(bytes("after"), bytes("3"), in: family)

            let copy = try Database.open(path: path + "/backup", options: testOptions())
            defer { copy.close() }
            let copied = try #require(copy.family("f"))
            #expect(try copy.get(bytes("flushed"), in: copied) == bytes("1"))
            #expect(try copy.get(bytes("in-memtable"), in: copied) == bytes("2"))
            #expect(try copy.get(bytes("after"), in: copied) == nil)
        }
    }

    @Test func propertiesAreReadable() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions(families: ["f"]))
            defer { db.close() }
            let family = try #require(db.family("f"))
            for index in 0..<100 {
                try db.put(bytes("key-\(index)"), bytes("value"), in: family)
            }
            #expect(try db.integerProperty("rocksdb.estimate-num-keys", in: family) == 100)
            #expect(try db.integerProperty("rocksdb.estimate-num-keys") == 0)
            #expect(try db.property("rocksdb.estimate-num-keys", in: family) == "100")
            #expect(try db.property("rocksdb.no-such-property") == nil)
            #expect(try db.integerProperty("rocksdb.no-such-property") == nil)
            #expect(try db.statsReport().contains("Compaction Stats"))
            #expect(try db.tickerStatistics() == nil)

            try db.flush(family)
            // A text-only property: no integer form.
            #expect(try db.property("rocksdb.num-files-at-level0", in: family) == "1")
            #expect(try db.integerProperty("rocksdb.num-files-at-level0", in: family) == nil)
            try db.compactRange(in: family)
            try db.compactRange(in: family, from: bytes("key-1"), to: bytes("key-5"),
                                forceBottommostLevel: true)
            #expect(try db.property("rocksdb.num-files-at-level0", in: family) == "0")
            #expect(try db.get(bytes("key-42"), in: family) == bytes("value"))
        }
    }

    @Test func tickerStatisticsWhenEnabled() throws {
        try withTemporaryDirectory { path in
            var options = testOptions()
            options.enableStatistics = true
            let db = try Database.open(path: path, options: options)
            defer { db.close() }
            try db.put(bytes("k"), bytes("v"), in: db.defaultFamily)
            _ = try db.get(bytes("k"), in: db.defaultFamily)
            let statistics = try #require(try db.tickerStatistics())
            #expect(statistics.contains("rocksdb.number.keys.written COUNT : 1"))
        }
    }

    @Test func blobFamilyStoresLargeValuesInBlobFiles() throws {
        try withTemporaryDirectory { path in
            var options = testOptions()
            options.columnFamilies["documents"] = ColumnFamilyOptions(
                enableBlobFiles: true, minBlobSize: 64 << 10, compression: .zstd)
            let document = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
            do {
                let db = try Database.open(path: path, options: options)
                let documents = try #require(db.family("documents"))
                try db.put(bytes("doc-1"), document, in: documents, sync: true)
                try db.put(bytes("small"), bytes("inline"), in: documents)
                try db.flush(documents)
                #expect(try db.integerProperty("rocksdb.num-blob-files", in: documents) == 1)
                #expect(try db.integerProperty("rocksdb.num-blob-files") == 0)
                #expect(try db.get(bytes("doc-1"), in: documents) == document)
                db.close()
            }
            let blobFiles = try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { $0.hasSuffix(".blob") }
            #expect(blobFiles.count == 1)
            let db = try Database.open(path: path, options: options)
            defer { db.close() }
            let documents = try #require(db.family("documents"))
            #expect(try db.get(bytes("doc-1"), in: documents) == document)
            #expect(try db.get(bytes("small"), in: documents) == bytes("inline"))
        }
    }
}
