import DossierStore
import Foundation
import Testing

@testable import DossierPostgres

/// The directory of the cluster that scripts/postgres-cluster.sh started for
/// DOSSIER_TEST_POSTGRES_URL: with it, the server is stopped and started under a running engine.
let postgresDirectory = ProcessInfo.processInfo.environment["DOSSIER_TEST_POSTGRES_DIR"]

/// In PostgresEngineTests, which is serialized: no other test may run while the server is down.
extension PostgresEngineTests {
    /// While the server is down every call fails as unavailable (retryable) rather than
    /// hanging or crashing; once it is back, the same engine works without being remade.
    @Test(.enabled(if: postgresDirectory != nil, "set DOSSIER_TEST_POSTGRES_DIR to the cluster's directory"))
    func theEngineOutlivesAServerRestart() throws {
        try withEngine(poolSize: 2) { engine, settings in
            try engine.put(Array("~Ukey".utf8), [1], in: .meta)
            try cluster("stop", postgresDirectory!)
            #expect(throws: StoreUnavailableError.self) { try engine.get(Array("~Ukey".utf8), in: .meta) }
            #expect(throws: StoreUnavailableError.self) { try engine.put(Array("~Ukey".utf8), [2], in: .meta) }
            #expect(throws: StoreUnavailableError.self) { try engine.scan(prefix: [], in: .meta) { _ in true } }
            try cluster("start", postgresDirectory!, String(settings.hosts[0].port))
            #expect(try engine.get(Array("~Ukey".utf8), in: .meta) == [1])
            try engine.put(Array("~Ukey".utf8), [2], in: .meta)
            #expect(try engine.get(Array("~Ukey".utf8), in: .meta) == [2])
        }
    }

    /// Runs scripts/postgres-cluster.sh with posix_spawn and waitpid: Foundation's Process
    /// did not notice the script's exit inside the test runner (left a zombie, waited forever).
    private func cluster(_ arguments: String...) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/postgres-cluster.sh").path
        let argv = (["/bin/bash", script] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ)
        #expect(spawned == 0)
        guard spawned == 0 else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        #expect(status == 0, "postgres-cluster.sh \(arguments.joined(separator: " ")) failed")
    }
}
