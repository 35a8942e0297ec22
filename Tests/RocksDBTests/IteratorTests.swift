import RocksDB
import Testing

@Suite struct IteratorTests {
    /// Keys a..f in the default family, values uppercase.
    private func withLetters(_ body: (Database) throws -> Void) throws {
        try withTemporaryDirectory { path in
            let db = try Database.open(path: path, options: testOptions())
            defer { db.close() }
            for letter in ["a", "b", "c", "d", "e", "f"] {
                try db.put(bytes(letter), bytes(letter.uppercased()), in: db.defaultFamily)
            }
            try body(db)
        }
    }

    private func collect(_ iterator: RocksDB.Iterator, reverse: Bool = false) throws -> [String] {
        var keys: [String] = []
        while iterator.isValid {
            keys.append(String(decoding: iterator.key, as: UTF8.self))
            if reverse { iterator.previous() } else { iterator.next() }
        }
        try iterator.checkError()
        return keys
    }

    @Test func boundsLimitBothDirections() throws {
        try withLetters { db in
            let iterator = try db.iterator(
                in: db.defaultFamily, lowerBound: bytes("b"), upperBound: bytes("e"))
            iterator.seekToFirst()
            #expect(try collect(iterator) == ["b", "c", "d"])
            iterator.seekToLast()
            #expect(try collect(iterator, reverse: true) == ["d", "c", "b"])

            iterator.seek(to: bytes("bb"))
            #expect(iterator.key == bytes("c"))
            #expect(iterator.value == bytes("C"))
            iterator.seekForPrev(bytes("cc"))
            #expect(iterator.key == bytes("c"))
            iterator.seek(to: bytes("z"))
            #expect(!iterator.isValid)
            iterator.next()  // a no-op on an invalid iterator
            #expect(!iterator.isValid)
        }
    }

    @Test func unboundedIteratorSeesEverything() throws {
        try withLetters { db in
            let iterator = try db.iterator(in: db.defaultFamily)
            #expect(!iterator.isValid)  // unpositioned until a seek
            iterator.seekToFirst()
            #expect(try collect(iterator) == ["a", "b", "c", "d", "e", "f"])
            #expect(!iterator.isValid)
            iterator.seekToLast()
            let pair = iterator.withEntry { key, value in (Array(key), Array(value)) }
            #expect(pair.0 == bytes("f") && pair.1 == bytes("F"))
        }
    }

    /// Keys of several "records" (4-byte ids) with children, plus an 0xFF-ending id.
    private let recordKeys: [[UInt8]] = [
        bytes("rec1"), bytes("rec1/a"), bytes("rec1/b"),
        bytes("rec2"), bytes("rec2/a"),
        bytes("rec3/a"),
        [0x72, 0x65, 0x63, 0xFF], [0x72, 0x65, 0x63, 0xFF, 0x01], [0x72, 0x65, 0x64],
    ]

    @Test(arguments: [nil, 4] as [Int?])
    func prefixScanForwardAndBackward(prefixLength: Int?) throws {
        try withTemporaryDirectory { path in
            var options = testOptions()
            options.columnFamilies["records"] = ColumnFamilyOptions(prefixLength: prefixLength)
            let db = try Database.open(path: path, options: options)
            defer { db.close() }
            let family = try #require(db.family("records"))
            #expect(family.prefixLength == prefixLength)
            for (index, key) in recordKeys.enumerated() {
                try db.put(key, [UInt8(index)], in: family)
                if index == 4 { try db.flush(family) }  // scan across memtable and tables
            }

            let forward = try db.entries(withPrefix: bytes("rec1"), in: family)
            #expect(forward.map(\.key) == [bytes("rec1"), bytes("rec1/a"), bytes("rec1/b")])
            #expect(forward.map(\.value) == [[0], [1], [2]])
            let backward = try db.entries(withPrefix: bytes("rec1"), in: family, reverse: true)
            #expect(backward.map(\.key) == [bytes("rec1/b"), bytes("rec1/a"), bytes("rec1")])

            // Shorter than the prefix length: total-order iteration.
            let short = try db.entries(withPrefix: bytes("rec"), in: family)
            #expect(short.count == 8)
            // A prefix ending in 0xFF has a shorter upper bound ("red" excluded).
            let ff = try db.entries(withPrefix: [0x72, 0x65, 0x63, 0xFF], in: family, reverse: true)
            #expect(ff.map(\.key) == [[0x72, 0x65, 0x63, 0xFF, 0x01], [0x72, 0x65, 0x63, 0xFF]])
            #expect(try db.entries(withPrefix: bytes("rec3/"), in: family, limit: 5).count == 1)
            #expect(try db.entries(withPrefix: bytes("rec1"), in: family, limit: 2).count == 2)
            #expect(try db.entries(withPrefix: bytes("rec9"), in: family).isEmpty)
            #expect(try db.entries(withPrefix: bytes("rec9"), in: family, reverse: true).isEmpty)

            let iterator = try db.iterator(in: family, prefix: bytes("rec2"))
            iterator.seekToLast()
            #expect(try collect(iterator, reverse: true) == ["rec2/a", "rec2"])
        }
    }

    @Test(arguments: [
        ([], nil),
        ([0x61], [0x62]),
        ([0x61, 0xFF], [0x62]),
        ([0xFF, 0xFF], nil),
        ([0x00], [0x01]),
        ([0x61, 0xFE, 0xFF], [0x61, 0xFF]),
    ] as [([UInt8], [UInt8]?)])
    func upperBoundForPrefix(prefix: [UInt8], expected: [UInt8]?) {
        #expect(RocksDB.Iterator.upperBound(forPrefix: prefix) == expected)
    }

    @Test func scanStopsWhenBodyReturnsFalse() throws {
        try withLetters { db in
            var seen: [UInt8] = []
            try db.scan(prefix: [UInt8](), in: db.defaultFamily) { key, _ in
                seen.append(contentsOf: key)
                return seen.count < 3
            }
            #expect(seen == bytes("abc"))
        }
    }

    @Test func iteratorKeepsDatabaseObjectAlive() throws {
        try withTemporaryDirectory { path in
            var db: Database? = try Database.open(path: path, options: testOptions())
            try db!.put(bytes("k"), bytes("v"), in: db!.defaultFamily)
            let iterator = try db!.iterator(in: db!.defaultFamily)
            db = nil
            iterator.seekToFirst()
            #expect(iterator.key == bytes("k"))
            try iterator.checkError()
        }
    }
}
