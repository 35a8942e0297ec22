import DossierCore
import DossierProto
import DossierServer
import DossierStore
import DossierTransport
import DossierWire
import Foundation
import Logging

/// Requests of every kind, from every kind of caller, through the real dispatcher, handlers,
/// use cases and store: the first byte picks the caller; with its high bit set the rest is a
/// whole ttrpc Request envelope, otherwise the second byte picks one of the API's methods and
/// the rest is its payload. Nothing may crash; every call must get an answer.
let server: DossierServer = {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-fuzz-\(getpid())").path
    let certs = ProcessInfo.processInfo.environment["DOSSIER_CERTS"] ?? "certs/dev"
    var configuration = ServerConfiguration(
        transport: ServerTransportConfiguration(
            host: "127.0.0.1", port: 0,
            tls: TLSFiles(certificateChain: "\(certs)/server.pem", privateKey: "\(certs)/server.key", trustRoots: "\(certs)/ca.pem")),
        store: StoreConfiguration(
            path: directory, keyStorePath: directory + "-keys", masterKey: try! MasterKey.load(path: "\(certs)/master.key"),
            threads: 4, blockCacheBytes: 8 << 20),
        eventLoopThreads: 1)
    configuration.logSigningKeyPath = "\(certs)/log-signing.key"
    configuration.backupRoot = directory + "-backups"
    var logger = Logger(label: "fuzz")
    logger.logLevel = .critical
    return try! DossierServer(configuration: configuration, logger: logger)
}()

let callers: [Principal] = [
    Principal(kind: .patient, id: "1985010112345", certificateSerial: "01"),
    Principal(kind: .patient, id: "1990020254321", certificateSerial: "02"),
    Principal(kind: .professional, id: "gp-1001", profession: "gp", certificateSerial: "03"),
    Principal(kind: .professional, id: "pharm-2001", profession: "pharmacist", certificateSerial: "04"),
    Principal(kind: .organisation, id: "hospital-1", certificateSerial: "05"),
    Principal(kind: .operator, id: "op-1", certificateSerial: "06"),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }
    let caller = callers[Int(first & 0x7F) % callers.count]
    let request: Ttrpc_Request
    if first & 0x80 != 0 {
        guard let decoded = try? Ttrpc_Request(serializedBytes: Array(bytes.dropFirst())) else { return 0 }
        request = decoded
    } else {
        let methods = DossierAPI.methods
        let method = methods[Int(bytes.count > 1 ? bytes[1] : 0) % methods.count]
        request = Ttrpc_Request.with {
            $0.service = method.service
            $0.method = method.method
            $0.payload = Data(bytes.dropFirst(2))
        }
    }
    let done = DispatchSemaphore(value: 0)
    Task {
        let answer = await server.dispatcher.handle(request, connection: .principal(caller))
        precondition(answer.hasStatus || !answer.payload.isEmpty || answer.status.code == 0, "no answer")
        done.signal()
    }
    done.wait()
    return 0
}

// SwiftPM links an executable's entry point as `FuzzRequests_main`; hand control to libFuzzer's
// driver from there (libFuzzer's own `main` is then not linked).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzRequests_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzRequests(data, size) }
}
