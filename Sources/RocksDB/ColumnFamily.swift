/// A column family of an open database: a keyspace with its own options, written
/// atomically together with the others through a `WriteBatch`.
///
/// Get one from `Database.family(_:)`. Its C handle is owned by the database and
/// destroyed when the database closes; from then on every call using it throws.
/// It is checked `Sendable`: all its properties are immutable, and the C handle lives
/// in the database's lock-guarded state, not here.
public final class ColumnFamily: Sendable, CustomStringConvertible {
    /// The family's name ("default" for the default family).
    public let name: String
    /// The fixed prefix length the family was opened with, if any.
    public let prefixLength: Int?
    /// Position of the C handle in the core's `familyHandles`.
    let index: Int
    /// The database it belongs to; a family of another database is rejected.
    let core: DatabaseCore

    init(name: String, prefixLength: Int?, index: Int, core: DatabaseCore) {
        self.name = name
        self.prefixLength = prefixLength
        self.index = index
        self.core = core
    }

    /// "ColumnFamily(name)".
    public var description: String { "ColumnFamily(\(name))" }
}
