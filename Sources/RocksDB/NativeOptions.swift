internal import CRocksDB

/// The C option objects of one open database, created at open and destroyed after
/// `rocksdb_close`.
///
/// RocksDB copies options when it opens a database, but the statistics object is read
/// back through the database options, and keeping every option object until close
/// means no C object the database was opened with is ever freed under it.
final class NativeOptions {
    /// Database-wide options (`rocksdb_options_t`); also carries the statistics object.
    let database: OpaquePointer
    /// The LRU block cache shared by every family's table options.
    private let blockCache: OpaquePointer
    /// Per-family options, created on demand by `family(_:)`.
    private var families: [OpaquePointer] = []
    /// Read options for plain point reads (no snapshot).
    let plainRead: OpaquePointer
    /// Write options that fsync the write-ahead log before returning.
    let syncWrite: OpaquePointer
    /// Write options that return once the write is in the OS page cache.
    let bufferedWrite: OpaquePointer
    let statisticsEnabled: Bool
    private let writeBufferBytes: Int?

    init(_ options: DatabaseOptions) throws {
        try Self.validate(options)
        database = rocksdb_options_create()
        blockCache = rocksdb_cache_create_lru(options.blockCacheBytes)
        plainRead = rocksdb_readoptions_create()
        syncWrite = rocksdb_writeoptions_create()
        bufferedWrite = rocksdb_writeoptions_create()
        statisticsEnabled = options.enableStatistics
        writeBufferBytes = options.writeBufferBytes

        rocksdb_options_set_create_if_missing(database, options.createIfMissing ? 1 : 0)
        rocksdb_options_set_create_missing_column_families(database, 1)
        rocksdb_options_set_max_background_jobs(database, Int32(options.maxBackgroundJobs))
        if let total = options.totalWriteBufferBytes {
            rocksdb_options_set_db_write_buffer_size(database, total)
        }
        if let maxOpenFiles = options.maxOpenFiles {
            rocksdb_options_set_max_open_files(database, Int32(maxOpenFiles))
        }
        if options.enableStatistics {
            rocksdb_options_enable_statistics(database)
        }
        if options.manualWALFlush {
            rocksdb_options_set_manual_wal_flush(database, 1)
        }
        rocksdb_writeoptions_set_sync(syncWrite, 1)
        rocksdb_writeoptions_set_sync(bufferedWrite, 0)
    }

    deinit {
        for family in families {
            rocksdb_options_destroy(family)
        }
        rocksdb_writeoptions_destroy(bufferedWrite)
        rocksdb_writeoptions_destroy(syncWrite)
        rocksdb_readoptions_destroy(plainRead)
        rocksdb_cache_destroy(blockCache)
        rocksdb_options_destroy(database)
    }

    /// The write options for a synced or buffered write.
    func write(sync: Bool) -> OpaquePointer {
        sync ? syncWrite : bufferedWrite
    }

    /// Creates the C options of one family; they are owned (and freed) by `self`.
    func family(_ options: ColumnFamilyOptions) -> OpaquePointer {
        let family = rocksdb_options_create()!
        families.append(family)
        if let writeBufferBytes {
            rocksdb_options_set_write_buffer_size(family, writeBufferBytes)
        }

        let table = rocksdb_block_based_options_create()
        rocksdb_block_based_options_set_block_cache(table, blockCache)
        if let bits = options.bloomFilterBitsPerKey {
            // The table options take ownership of the policy.
            rocksdb_block_based_options_set_filter_policy(
                table, rocksdb_filterpolicy_create_bloom_full(bits))
        }
        // The options copy the table options (and share the cache), so these can go now.
        rocksdb_options_set_block_based_table_factory(family, table)
        rocksdb_block_based_options_destroy(table)

        if let prefixLength = options.prefixLength {
            // The options take ownership of the slice transform.
            rocksdb_options_set_prefix_extractor(
                family, rocksdb_slicetransform_create_fixed_prefix(prefixLength))
        }

        let compression = Int32(options.compression.nativeValue)
        rocksdb_options_set_compression(family, compression)
        if options.enableBlobFiles {
            rocksdb_options_set_enable_blob_files(family, 1)
            rocksdb_options_set_min_blob_size(family, options.minBlobSize)
            rocksdb_options_set_blob_compression_type(family, compression)
            rocksdb_options_set_enable_blob_gc(family, options.enableBlobGarbageCollection ? 1 : 0)
            // Blobs are cached in the one block cache, as table blocks are.
            rocksdb_options_set_blob_cache(family, blockCache)
        }
        return family
    }

    /// Checks what RocksDB would otherwise accept silently or crash on.
    static func validate(_ options: DatabaseOptions) throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw RocksDBError(message, code: .invalidArgument) }
        }
        try check(options.blockCacheBytes >= 0, "blockCacheBytes must not be negative")
        try check(
            (1...Int(Int32.max)).contains(options.maxBackgroundJobs),
            "maxBackgroundJobs must be positive")
        try check((options.writeBufferBytes ?? 1) > 0, "writeBufferBytes must be positive")
        try check((options.totalWriteBufferBytes ?? 1) > 0, "totalWriteBufferBytes must be positive")
        if let maxOpenFiles = options.maxOpenFiles {
            try check(
                maxOpenFiles == -1 || (1...Int(Int32.max)).contains(maxOpenFiles),
                "maxOpenFiles must be positive or -1")
        }
        for (name, family) in options.columnFamilies {
            try check(!name.isEmpty, "column family names must not be empty")
            try check(!name.utf8.contains(0), "column family names must not contain NUL")
            try check((family.prefixLength ?? 1) > 0, "prefixLength must be positive")
            try check(
                (family.bloomFilterBitsPerKey ?? 1) > 0, "bloomFilterBitsPerKey must be positive")
        }
    }
}

extension ColumnFamilyOptions.Compression {
    var nativeValue: Int {
        switch self {
        case .none: rocksdb_no_compression
        case .lz4: rocksdb_lz4_compression
        case .zstd: rocksdb_zstd_compression
        }
    }
}
