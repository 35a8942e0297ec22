import DossierCore
import Foundation

/// The one reader of secret key files (the master key, the log-signing key): 64 hex digits
/// (32 bytes), optionally followed by a newline. dossierd never writes them.
public enum KeyFile {
    /// The 32 bytes in `path`. `what` names the key in messages ("the master key").
    /// Unless `allowOpenPermissions`, a file that others may read is refused: whoever can read
    /// it can read every record (group read is allowed, for `root:dossier 0640` deployments and
    /// the container's secrets).
    public static func read(_ path: String, what: String, allowOpenPermissions: Bool = false) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw KeyFileError(
                errno == ENOENT
                    ? "\(what) file \(path) does not exist (create one with `openssl rand -hex 32 > \(path)`, mode 0600)"
                    : "cannot read \(what) file \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw KeyFileError("\(what) file \(path) is not a regular file") }
        if !allowOpenPermissions, info.st_mode & 0o004 != 0 {
            throw KeyFileError(
                "\(what) file \(path) is readable by every user (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 0600 or 0640 it (or --allow-open-permissions)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyFileError("cannot read \(what) file \(path): permission denied")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.utf8.count == 64, let bytes = [UInt8](hex: text) else {
            throw KeyFileError("\(what) file \(path) must hold 64 hex digits")
        }
        return bytes
    }
}

public struct KeyFileError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
