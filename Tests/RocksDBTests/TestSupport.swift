import Foundation
import RocksDB

/// Runs `body` with a fresh, empty directory path, removed afterwards.
func withTemporaryDirectory<Result>(
    _ body: (String) throws -> Result
) throws -> Result {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("rocksdb-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

/// The UTF-8 bytes of `string`, for readable keys and values.
func bytes(_ string: String) -> [UInt8] {
    Array(string.utf8)
}

/// Small options for tests: a small cache, and the given families with default options.
func testOptions(families: [String] = [], walSyncDefault: Bool = false) -> DatabaseOptions {
    var options = DatabaseOptions(
        columnFamilies: Dictionary(uniqueKeysWithValues: families.map { ($0, ColumnFamilyOptions()) }))
    options.blockCacheBytes = 8 << 20
    options.walSyncDefault = walSyncDefault
    return options
}

/// A value shared between test threads.
final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only accessed under `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withValue<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
