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
        let digits = Array(text.utf8)
        guard digits.count == 64 else { throw KeyFileError("\(what) file \(path) must hold 64 hex digits") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else {
                throw KeyFileError("\(what) file \(path) must hold 64 hex digits")
            }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    /// The byte of a hex digit, either case.
    static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

public struct KeyFileError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
