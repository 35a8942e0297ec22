import DossierCore

/// Offset paging over a list the use case returns in a stable order. The token is opaque to
/// clients; it is only valid for the same caller, method and filters.
struct Page {
    static let defaultSize = 50
    static let maxSize = 500

    let offset: Int
    let size: Int

    init(size: UInt32, token: String) throws {
        self.size = size == 0 ? Self.defaultSize : min(Int(size), Self.maxSize)
        if token.isEmpty {
            offset = 0
        } else if token.hasPrefix("o"), let value = Int(token.dropFirst()), value >= 0 {
            offset = value
        } else {
            throw DossierError(.invalidArgument, "page_token is not a token of this list", reason: "INVALID_PAGE_TOKEN", field: "page_token")
        }
    }

    /// The items of this page and the token of the next one ("" on the last page).
    func slice<T>(_ items: [T]) -> (items: ArraySlice<T>, next: String) {
        let start = min(offset, items.count)
        let end = min(start + size, items.count)
        return (items[start..<end], end < items.count ? "o\(end)" : "")
    }
}
