import Foundation

/// Files only for the server: its directories are created 0700 and everything in them 0600,
/// whatever the umask was, and a directory other users may read is refused.
enum Permissions {
    /// Makes every file and directory the process creates private to its user. RocksDB creates
    /// its files with 0644 masked by the umask, so the umask is the one place that covers them
    /// all (the WAL, tables, blob files, the MANIFEST, LOG).
    static func restrictNewFiles() {
        umask(0o077)
    }

    /// Creates `path` (not its parents) with mode 0700 if it does not exist; refuses an existing
    /// one that other users may read or enter, unless `allowOpen`.
    static func makePrivateDirectory(_ path: String, allowOpen: Bool = false) throws {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { return }  // let RocksDB report what is wrong
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw PermissionsError("cannot create \(path): \(String(cString: strerror(errno)))")
            }
            return
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return }  // RocksDB says "is not a directory"
        if !allowOpen, info.st_mode & 0o007 != 0 {
            throw PermissionsError(
                "\(path) is open to every user (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 0700 it (or --allow-open-permissions)")
        }
    }
}

public struct PermissionsError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
