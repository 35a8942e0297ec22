import DossierStore
import Foundation
import Testing

@testable import DossierPostgres

/// In PostgresEngineTests, which is serialized: the tests below stop a server process or lock a
/// table, and nothing else may run meanwhile.
extension PostgresEngineTests {
    /// A statement stuck behind a lock is cancelled by the server at the statement timeout, and
    /// the call fails as unavailable (retryable), not as a refusal; the connection stays usable.
    @Test func aStatementWaitingTooLongFailsUnavailable() throws {
        try withEngine(poolSize: 1) { engine, settings in
            let quick = try PostgresEngine(
                settings: try PostgresSettings(url: postgresURL!, poolSize: 1, schema: settings.schema, statementTimeout: .seconds(1)),
                migrate: false)
            defer { quick.close() }
            try quick.put(Array("~Ukey".utf8), [1], in: .meta)
            // The other engine's only connection keeps a transaction open with the table locked.
            try engine.execute("BEGIN")
            try engine.execute("LOCK TABLE \"\(settings.schema)\".meta IN ACCESS EXCLUSIVE MODE")
            do {
                try quick.put(Array("~Ukey".utf8), [2], in: .meta)
                Issue.record("a write behind a lock succeeded")
            } catch let error as StoreUnavailableError {
                #expect(error.description.contains("57014"), "\(error)")
            }
            try engine.execute("ROLLBACK")
            try quick.put(Array("~Ukey".utf8), [3], in: .meta)
            #expect(try quick.get(Array("~Ukey".utf8), in: .meta) == [3])
        }
    }

    /// A server that stops answering (its process stopped: a hung host, a silent network) does
    /// not hold the call forever: the connection is closed past the statement timeout, the call
    /// fails as unavailable, and the next one gets a new connection.
    @Test func aServerThatStopsAnsweringFailsTheCall() throws {
        try withEngine(poolSize: 1) { _, settings in
            let engine = try PostgresEngine(
                settings: try PostgresSettings(url: postgresURL!, poolSize: 1, schema: settings.schema, statementTimeout: .seconds(1)),
                migrate: false)
            defer { engine.close() }
            let process = try engine.serverProcessID()
            #expect(kill(process, SIGSTOP) == 0)
            defer { kill(process, SIGCONT) }
            do {
                try engine.put(Array("~Ukey".utf8), [1], in: .meta)
                Issue.record("a write to a stopped server process succeeded")
            } catch let error as StoreUnavailableError {
                #expect(error.description.contains("did not answer"), "\(error)")
            }
            kill(process, SIGCONT)
            try engine.put(Array("~Ukey".utf8), [2], in: .meta)
            #expect(try engine.get(Array("~Ukey".utf8), in: .meta) == [2])
            #expect(try engine.serverProcessID() != process)
        }
    }
}
