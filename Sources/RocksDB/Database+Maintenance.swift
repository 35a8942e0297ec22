internal import CRocksDB

extension Database {
    /// A RocksDB property as text, such as "rocksdb.stats" or
    /// "rocksdb.estimate-num-keys", of `family` (or the default family, which also
    /// answers database-wide properties); `nil` if RocksDB does not know the name.
    public func property(_ name: String, in family: ColumnFamily? = nil) throws -> String? {
        try core.withFamily(family ?? defaultFamily) { db, handle, _ in
            guard let value = rocksdb_property_value_cf(db, handle, name) else { return nil }
            defer { rocksdb_free(value) }
            return String(cString: value)
        }
    }

    /// A numeric RocksDB property, such as "rocksdb.estimate-num-keys" or
    /// "rocksdb.num-blob-files"; `nil` if the name is unknown or not numeric.
    public func integerProperty(_ name: String, in family: ColumnFamily? = nil) throws -> UInt64? {
        try core.withFamily(family ?? defaultFamily) { db, handle, _ in
            var value: UInt64 = 0
            return rocksdb_property_int_cf(db, handle, name, &value) == 0 ? value : nil
        }
    }

    /// The "rocksdb.stats" report: compaction, flush, stall and write statistics.
    public func statsReport() throws -> String {
        try property("rocksdb.stats") ?? ""
    }

    /// Tickers and histograms collected since open, or `nil` unless the database was
    /// opened with `DatabaseOptions.enableStatistics`.
    public func tickerStatistics() throws -> String? {
        try core.withDatabase { _, options in
            guard options.statisticsEnabled,
                let text = rocksdb_options_statistics_get_string(options.database)
            else { return nil }
            defer { rocksdb_free(text) }
            return String(cString: text)
        }
    }

    /// Flushes the memtables of `family` (or of every family) to table files.
    ///
    /// - Parameter wait: return only when the flush has finished.
    public func flush(_ family: ColumnFamily? = nil, wait: Bool = true) throws {
        let flushOptions = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(flushOptions) }
        rocksdb_flushoptions_set_wait(flushOptions, wait ? 1 : 0)
        let families = family.map { [$0] } ?? familyNames.compactMap { self.family($0) }
        for family in families {
            try core.withFamily(family) { db, handle, _ in
                try ffiTry { rocksdb_flush_cf(db, flushOptions, handle, $0) }
            }
        }
    }

    /// Changes mutable options of `family` while open, e.g. `["enable_blob_garbage_collection":
    /// "true"]` (RocksDB's option names and string values).
    public func setOptions(_ options: [String: String], in family: ColumnFamily) throws {
        let pairs = Array(options)
        try withCStrings(pairs.map(\.key)) { keys in
            try withCStrings(pairs.map(\.value)) { values in
                try core.withFamily(family) { db, handle, _ in
                    try ffiTry { rocksdb_set_options_cf(db, handle, Int32(pairs.count), keys, values, $0) }
                }
            }
        }
    }

    /// Compacts the keys `start <= k <= end` of `family` (a `nil` end is open), and
    /// waits for it. Compaction drops deleted and overwritten values from disk.
    ///
    /// - Parameter forceBottommostLevel: also rewrite files already in the last level,
    ///   so that, for example, blob garbage collection sees every file.
    public func compactRange(
        in family: ColumnFamily, from start: [UInt8]? = nil, to end: [UInt8]? = nil,
        forceBottommostLevel: Bool = false
    ) throws {
        let compactOptions = rocksdb_compactoptions_create()
        defer { rocksdb_compactoptions_destroy(compactOptions) }
        if forceBottommostLevel {
            // BottommostLevelCompaction::kForce
            rocksdb_compactoptions_set_bottommost_level_compaction(compactOptions, 2)
        }
        try core.withFamily(family) { db, handle, _ in
            // A null pointer (not an empty key) means "unbounded" to RocksDB.
            func withBound(
                _ bound: [UInt8]?, _ body: (UnsafePointer<CChar>?, Int) -> Void
            ) {
                guard let bound else { return body(nil, 0) }
                bound.withUnsafeBytes { body($0.cBytes.pointer, $0.count) }
            }
            withBound(start) { start, startLength in
                withBound(end) { end, endLength in
                    rocksdb_compact_range_cf_opt(
                        db, handle, compactOptions, start, startLength, end, endLength)
                }
            }
        }
    }

    /// The sequence number of the last write applied (every later write gets a higher one).
    public func latestSequenceNumber() throws -> UInt64 {
        try core.withDatabase { db, _ in rocksdb_get_latest_sequence_number(db) }
    }

    /// Writes a consistent, openable copy of the database to `path` (an online backup;
    /// table files are hard-linked when on the same file system). `path` must not exist.
    public func createCheckpoint(at path: String) throws {
        try core.withDatabase { db, _ in
            let checkpoint = try ffiTry { rocksdb_checkpoint_object_create(db, $0) }
            guard let checkpoint else { throw RocksDBError("could not create a checkpoint object") }
            defer { rocksdb_checkpoint_object_destroy(checkpoint) }
            // 0: flush memtables first, so the copy needs no write-ahead log replay.
            try ffiTry { rocksdb_checkpoint_create(checkpoint, path, 0, $0) }
        }
    }
}
