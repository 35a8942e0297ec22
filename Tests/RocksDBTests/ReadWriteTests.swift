import Foundation
import RocksDB
import Testing

@Suite struct ReadWriteTests {
    @Test func putGetDeleteAcrossTwoFamilies() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions(families: ["records", "grants"]))
            defer { db.close() }
            let records = try #require(db.family("records"))
            let grants = try #require(db.family("grants"))

            try db.put(bytes("patient-1"), bytes("record"), in: records)
            try db.put(bytes("patient-1"), bytes("grant"), in: grants)
            #expect(try db.get(bytes("patient-1"), in: records) == bytes("record"))
            #expect(try db.get(bytes("patient-1"), in: grants) == bytes("grant"))
            #expect(try db.get(bytes("patient-1"), in: db.defaultFamily) == nil)

            try db.delete(bytes("patient-1"), in: records)
            #expect(try db.get(bytes("patient-1"), in: records) == nil)
            #expect(try db.get(bytes("patient-1"), in: grants) == bytes("grant"))
            #expect(db.familyNames == ["default", "grants", "records"])
        }
    }

    @Test func acceptsAnyContiguousBytesAndEmptyValues() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions())
            defer { db.close() }
            let family = db.defaultFamily

            try db.put(Data("data-key".utf8), [UInt8](), in: family)
            #expect(try db.get(bytes("data-key"), in: family) == [])

            let key = bytes("raw-key")
            try key.withUnsafeBytes { rawKey in
                try db.put(rawKey, bytes("raw-value"), in: family)
            }
            #expect(try db.get(Data("raw-key".utf8), in: family) == bytes("raw-value"))

            try db.put([UInt8](), bytes("empty-key"), in: family)
            #expect(try db.get([UInt8](), in: family) == bytes("empty-key"))

            let binary: [UInt8] = [0, 0xFF, 0, 1]
            try db.put(binary, binary, in: family)
            #expect(try db.get(binary, in: family) == binary)
        }
    }

    @Test func withValueReadsWithoutCopyAndSkipsMissingKeys() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions())
            defer { db.close() }
            try db.put(bytes("k"), bytes("hello"), in: db.defaultFamily)

            let count = try db.withValue(forKey: bytes("k"), in: db.defaultFamily) { $0.count }
            #expect(count == 5)
            var called = false
            let missing: Int? = try db.withValue(forKey: bytes("nope"), in: db.defaultFamily) { _ in
                called = true
                return 1
            }
            #expect(missing == nil)
            #expect(!called)
        }
    }

    @Test func multiGetReturnsValuesInOrder() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions(families: ["f"]))
            defer { db.close() }
            let family = try #require(db.family("f"))
            try db.put(bytes("a"), bytes("1"), in: family)
            try db.put(bytes("c"), bytes("3"), in: family)
            try db.flush(family)  // one value from a table file, one from the memtable
            try db.put(bytes("d"), bytes(""), in: family)

            let values = try db.multiGet(
                [bytes("c"), bytes("b"), bytes("a"), bytes("d"), []], in: family)
            #expect(values == [bytes("3"), nil, bytes("1"), [], nil])
            #expect(try db.multiGet([[UInt8]](), in: family) == [])
        }
    }

    @Test func deleteRangeRemovesHalfOpenRange() throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions())
            defer { db.close() }
            let family = db.defaultFamily
            for key in ["a", "b", "c", "d"] {
                try db.put(bytes(key), bytes(key), in: family)
            }
            try db.deleteRange(from: bytes("b"), to: bytes("d"), in: family)
            let keys = try db.entries(withPrefix: [UInt8](), in: family).map(\.key)
            #expect(keys == [bytes("a"), bytes("d")])
        }
    }

    @Test func syncedPutsSurviveReopen() throws {
        try withTemporaryDirectory { path in
            do {
                let db = try Database.open(path: path, options: testOptions(walSyncDefault: true))
                try db.put(bytes("default-sync"), bytes("1"), in: db.defaultFamily)
                try db.put(bytes("explicit-sync"), bytes("2"), in: db.defaultFamily, sync: true)
                try db.delete(bytes("explicit-sync"), in: db.defaultFamily, sync: true)
                db.close()
            }
            let db = try Database.open(path: path, options: testOptions())
            defer { db.close() }
            #expect(try db.get(bytes("default-sync"), in: db.defaultFamily) == bytes("1"))
            #expect(try db.get(bytes("explicit-sync"), in: db.defaultFamily) == nil)
        }
    }
}
