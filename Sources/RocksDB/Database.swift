internal import CRocksDB

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// An open RocksDB database with its column families.
///
/// All methods are synchronous and may block on disk I/O (a synced write waits for an
/// fsync): call them from a thread pool, never from an event loop.
///
/// A `Database` may be shared between threads. It is checked `Sendable`: its
/// properties are immutable, and the C handles live in `DatabaseCore`, whose lock lets
/// any number of calls run concurrently (RocksDB is thread-safe and group-commits
/// concurrent writes) while `close()` waits for running calls and then makes every
/// later call throw `RocksDBError.Code.databaseClosed`.
public final class Database: Sendable {
    /// The directory of the database.
    public let path: String
    /// The default column family, always open.
    public let defaultFamily: ColumnFamily
    let core: DatabaseCore
    let walSyncDefault: Bool
    let familiesByName: [String: ColumnFamily]

    private init(
        path: String, core: DatabaseCore, families: [ColumnFamily], walSyncDefault: Bool
    ) {
        self.path = path
        self.core = core
        self.walSyncDefault = walSyncDefault
        self.familiesByName = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })
        self.defaultFamily = families[0]
    }

    deinit {
        core.close()
    }

    /// Opens (or creates) the database at `path`.
    ///
    /// Every family that exists on disk is opened, with its options from
    /// `options.columnFamilies` or defaults; listed families that do not exist yet are
    /// created. Opening a database that this process already has open fails with an
    /// `.ioError` about its LOCK file.
    public static func open(path: String, options: DatabaseOptions = DatabaseOptions()) throws
        -> Database
    {
        let native = try NativeOptions(options)
        var names = ["default"]
        let declared = options.columnFamilies.keys.sorted()
        for name in try existingFamilies(path: path, options: native) + declared
        where !names.contains(name) {
            names.append(name)
        }
        let familyOptions = names.map { options.columnFamilies[$0] ?? ColumnFamilyOptions() }
        let nativeFamilyOptions: [OpaquePointer?] = familyOptions.map { native.family($0) }
        var handles = [OpaquePointer?](repeating: nil, count: names.count)

        let db = try withCStrings(names) { cNames in
            try ffiTry { error in
                rocksdb_open_column_families(
                    native.database, path, Int32(names.count), cNames, nativeFamilyOptions,
                    &handles, error)
            }
        }
        guard let db else { throw RocksDBError("rocksdb_open_column_families returned nothing") }
        let core = DatabaseCore(db: db, familyHandles: handles.map { $0! }, options: native)
        let families = names.indices.map { index in
            ColumnFamily(
                name: names[index], prefixLength: familyOptions[index].prefixLength,
                index: index, core: core)
        }
        return Database(
            path: path, core: core, families: families, walSyncDefault: options.walSyncDefault)
    }

    /// The open family called `name`, or `nil` if the database has none by that name.
    public func family(_ name: String) -> ColumnFamily? {
        familiesByName[name]
    }

    /// The names of all open families, sorted.
    public var familyNames: [String] {
        familiesByName.keys.sorted()
    }

    /// Whether `close()` has run.
    public var isClosed: Bool {
        core.isClosed
    }

    /// Closes the database: destroys live iterators and snapshots (they become invalid),
    /// then the family handles, then the database itself. Waits for running calls;
    /// later calls throw. Calling it again does nothing. `deinit` also closes.
    ///
    /// Do not call it from inside a closure passed to this database or its iterators
    /// (such as `withValue`): that thread holds the lock `close()` waits for.
    public func close() {
        core.close()
    }

    /// Deletes the database at `path` and all its files. It must not be open.
    public static func destroy(path: String) throws {
        let options = rocksdb_options_create()
        defer { rocksdb_options_destroy(options) }
        try ffiTry { rocksdb_destroy_db(options, path, $0) }
    }

    /// Names of the families stored at `path`, or none if there is no database yet.
    private static func existingFamilies(path: String, options: NativeOptions) throws -> [String] {
        // RocksDB reports a missing database as an I/O error; tell it apart from real
        // errors by the CURRENT file every database has.
        guard access(path + "/CURRENT", F_OK) == 0 else { return [] }
        var count = 0
        let list = try ffiTry { rocksdb_list_column_families(options.database, path, &count, $0) }
        guard let list else { return [] }
        defer { rocksdb_list_column_families_destroy(list, count) }
        return (0..<count).compactMap { list[$0].map { String(cString: $0) } }
    }
}

/// Calls `body` with NUL-terminated copies of `strings` that live until it returns.
func withCStrings<Result>(
    _ strings: [String], _ body: ([UnsafePointer<CChar>?]) throws -> Result
) rethrows -> Result {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return try body(copies.map { UnsafePointer($0) })
}
