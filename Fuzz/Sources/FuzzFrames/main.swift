import DossierProto
import DossierWire
import NIOCore

/// The byte stream of a connection, as a peer may send it: cut into chunks (their sizes taken
/// from the input itself), split into frames by the decoder, fed to the connection's state
/// machine. Whatever the bytes, nothing may crash, and the machine's invariants must hold.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    var decoder = TTRPCFrameDecoder(maxPayloadLength: 1 << 16)
    var machine = ServerConnectionStateMachine(maxInFlight: 4, maxPayloadLength: 1 << 16)
    var buffer = ByteBufferAllocator().buffer(capacity: 0)
    var offset = 0
    var step = 0
    while offset < bytes.count {
        let chunk = 1 + Int(bytes[step % bytes.count]) % 64
        step += 1
        let end = min(bytes.count, offset + chunk)
        buffer.writeBytes(bytes[offset..<end])
        offset = end
        while let event = decoder.next(from: &buffer) {
            switch machine.received(event) {
            default:
                break
            }
            if case .frame(let header, var payload) = event, header.type == .request {
                // What the connection handler does next: decode the envelope.
                _ = try? Ttrpc_Request(serializedBytes: payload.readBytes(length: payload.readableBytes) ?? [])
            }
            precondition(machine.inFlightCount <= machine.maxInFlight + 1, "in-flight bound broken")
            if step % 3 == 0, case .frame(let header, _) = event {
                _ = machine.callCompleted(streamID: header.streamID)
            }
        }
        precondition(buffer.readableBytes <= (1 << 16) + TTRPCFrameHeader.size + 64, "decoder buffered past the limit")
    }
    _ = machine.abandonAll()
    return 0
}

// SwiftPM links an executable's entry point as `FuzzFrames_main`; hand control to libFuzzer's
// driver from there (libFuzzer's own `main` is then not linked).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzFrames_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzFrames(data, size) }
}
