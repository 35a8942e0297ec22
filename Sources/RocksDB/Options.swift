/// Options of a whole database: what to open, and the resources its families share.
public struct DatabaseOptions: Sendable {
    /// Create the database directory and files if they do not exist. Default `true`.
    public var createIfMissing: Bool = true
    /// Capacity of the one LRU block cache shared by all column families. Default 256 MiB.
    public var blockCacheBytes: Int = 256 << 20
    /// Maximum concurrent background flushes and compactions. Default 2.
    public var maxBackgroundJobs: Int = 2
    /// Size of each family's memtable before it is flushed; `nil` keeps RocksDB's
    /// default (64 MiB).
    public var writeBufferBytes: Int? = nil
    /// Total memory of every family's memtables together (RocksDB's `db_write_buffer_size`):
    /// past it the largest is flushed. `nil` leaves them bounded only per family.
    public var totalWriteBufferBytes: Int? = nil
    /// Maximum open table files; `nil` keeps RocksDB's default (-1, unlimited).
    public var maxOpenFiles: Int? = nil
    /// Collect tickers and histograms, readable with `Database.tickerStatistics()`.
    /// Costs a few percent of throughput. Default `false`.
    public var enableStatistics: Bool = false
    /// Whether writes that do not say otherwise fsync the write-ahead log before
    /// returning. Default `false`.
    public var walSyncDefault: Bool = false
    /// Keep unsynced writes in the write-ahead log's memory buffer until `syncWAL()` (or a
    /// synced write) writes them out: a group of writers then costs one write(2) and one
    /// fsync. Unsynced writes are lost if the process dies first. Default `false`.
    public var manualWALFlush: Bool = false
    /// The column families to open, creating missing ones. "default" is always opened,
    /// with default options unless listed here. Families that exist on disk but are not
    /// listed are opened too, with default options.
    public var columnFamilies: [String: ColumnFamilyOptions] = [:]

    /// Creates options with the defaults above and the given families.
    public init(columnFamilies: [String: ColumnFamilyOptions] = [:]) {
        self.columnFamilies = columnFamilies
    }
}

/// Options of one column family.
public struct ColumnFamilyOptions: Sendable {
    /// Bits per key of a full Bloom filter in table files; `nil` for no filter.
    /// 10 bits give about 1% false positives. Default 10.
    public var bloomFilterBitsPerKey: Double? = 10
    /// Length of a fixed key prefix (for example a record identifier) used for prefix
    /// Bloom filters and prefix scans; `nil` for none.
    public var prefixLength: Int? = nil
    /// Store values of at least `minBlobSize` bytes in separate blob files (key–value
    /// separation), which keeps large document contents out of compactions.
    public var enableBlobFiles: Bool = false
    /// Smallest value stored in a blob file when `enableBlobFiles` is set. Default 4 KiB.
    public var minBlobSize: UInt64 = 4096
    /// Rewrite live blobs out of old blob files during compaction so that deleted
    /// values are eventually removed from disk. Default `true`.
    public var enableBlobGarbageCollection: Bool = true
    /// Compression of table files and blob files. Default `.lz4`.
    public var compression: Compression = .lz4

    /// Creates options; every parameter defaults to the value documented on its property.
    public init(
        bloomFilterBitsPerKey: Double? = 10,
        prefixLength: Int? = nil,
        enableBlobFiles: Bool = false,
        minBlobSize: UInt64 = 4096,
        enableBlobGarbageCollection: Bool = true,
        compression: Compression = .lz4
    ) {
        self.bloomFilterBitsPerKey = bloomFilterBitsPerKey
        self.prefixLength = prefixLength
        self.enableBlobFiles = enableBlobFiles
        self.minBlobSize = minBlobSize
        self.enableBlobGarbageCollection = enableBlobGarbageCollection
        self.compression = compression
    }

    /// Compression algorithm for table and blob files.
    public enum Compression: Sendable, Hashable {
        /// No compression.
        case none
        /// LZ4: fast, moderate ratio.
        case lz4
        /// Zstandard: slower, better ratio.
        case zstd
    }
}
