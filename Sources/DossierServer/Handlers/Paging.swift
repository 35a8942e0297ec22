import Crypto
import DossierCore
import Foundation
import DossierProto
import SwiftProtobuf

/// A list request that pages (`page_size`, `page_token`).
protocol PagedRequest: SwiftProtobuf.Message {
    var pageSize: UInt32 { get set }
    var pageToken: String { get set }
}

/// Page tokens (common.proto: opaque, valid only for the same caller, method, record and
/// filters). A token is the position where the next page starts, sealed with AES-256-GCM under
/// the server's token key, with the caller, the method and the request without its paging
/// fields as additional authenticated data: a token made for another caller, record, method or
/// filters, changed, or forged does not open, and is answered INVALID_ARGUMENT
/// `INVALID_PAGE_TOKEN` without any data. The position itself (an offset, a sequence) cannot be
/// read from the token, so a token tells nothing of what the caller was not shown.
struct PageTokens: Sendable {
    private let key: SymmetricKey

    init(key: [UInt8]) {
        self.key = SymmetricKey(data: key)
    }

    static let invalid = DossierError(
        .invalidArgument, "page_token is not a token of this list", reason: "INVALID_PAGE_TOKEN", field: "page_token")

    private static func binding(_ request: some PagedRequest, context: CallContext) throws -> [UInt8] {
        var query = request
        query.pageToken = ""
        query.pageSize = 0
        let caller = "\(context.principal.kind.rawValue):\(context.principal.id)"
        let serialized: [UInt8] = try query.serializedBytes(options: { var options = BinaryEncodingOptions(); options.useDeterministicOrdering = true; return options }())
        return Array("dossier-page-token-v1\u{0}\(caller)\u{0}\(context.method)\u{0}".utf8) + serialized
    }

    /// The token of the page that starts at `position`.
    func make(_ position: [UInt8], for request: some PagedRequest, context: CallContext) throws -> String {
        let box = try AES.GCM.seal(position, using: key, authenticating: try Self.binding(request, context: context))
        guard let combined = box.combined else { throw DossierError(.internalError, "page token") }
        return Self.base64URL(combined)
    }

    /// The position the request's token names; nil for no token (the first page).
    func position(of request: some PagedRequest, context: CallContext) throws -> [UInt8]? {
        guard !request.pageToken.isEmpty else { return nil }
        guard request.pageToken.utf8.count <= 256, let sealed = Self.data(base64URL: request.pageToken),
            let box = try? AES.GCM.SealedBox(combined: sealed),
            let position = try? AES.GCM.open(box, using: key, authenticating: try Self.binding(request, context: context))
        else { throw Self.invalid }
        return [UInt8](position)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func data(base64URL text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

/// Positions as bytes (a page token's content).
enum PagePosition {
    static func encode(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    static func decodeUInt64(_ bytes: [UInt8]) throws -> UInt64 {
        guard bytes.count == 8 else { throw PageTokens.invalid }
        return bytes.reduce(0) { ($0 << 8) | UInt64($1) }
    }
}

/// Offset paging over a list the use case returns in a stable order, with sealed tokens.
struct Page {
    static let defaultSize = 50
    static let maxSize = 500

    let offset: Int
    let size: Int
    private let next: @Sendable (Int) throws -> String

    init(_ request: some PagedRequest, context: CallContext) throws {
        size = Self.size(request.pageSize)
        offset = try context.pageTokens.position(of: request, context: context).map { Int(try PagePosition.decodeUInt64($0)) } ?? 0
        guard offset >= 0, offset <= Int(UInt32.max) else { throw PageTokens.invalid }
        let tokens = context.pageTokens
        next = { end in try tokens.make(PagePosition.encode(UInt64(end)), for: request, context: context) }
    }

    static func size(_ requested: UInt32) -> Int {
        requested == 0 ? defaultSize : min(Int(requested), maxSize)
    }

    /// The items of this page and the token of the next one ("" on the last page).
    func slice<T>(_ items: [T]) throws -> (items: ArraySlice<T>, next: String) {
        let start = min(offset, items.count)
        let end = min(start + size, items.count)
        return (items[start..<end], end < items.count ? try next(end) : "")
    }
}

extension Dossier_V1_FindDocumentsRequest: PagedRequest {}
extension Dossier_V1_GetRecordOverviewRequest: PagedRequest {}
extension Dossier_V1_ListAccessLogRequest: PagedRequest {}
extension Dossier_V1_ListGrantsRequest: PagedRequest {}
extension Dossier_V1_ListBlocksRequest: PagedRequest {}
extension Dossier_V1_ListDelegatesRequest: PagedRequest {}
extension Dossier_V1_ListMyDelegationsRequest: PagedRequest {}
extension Dossier_V1_ListNotificationsRequest: PagedRequest {}
extension Dossier_V1_ListBackupsRequest: PagedRequest {}
extension Dossier_V1_ListRevokedCertificatesRequest: PagedRequest {}
extension Dossier_V1_ListRectificationRequestsRequest: PagedRequest {}
