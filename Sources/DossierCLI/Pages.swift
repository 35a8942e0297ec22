/// Paged lists read to the end: every list command follows `next_page_token` until the last
/// page, or until `limit` items, never stopping silently at one page.
enum Pages {
    /// The largest page the CLI asks for (the server may cap it lower).
    static let pageSize = 500

    /// Calls `page` with each next token; returns the items (at most `limit`) and the token
    /// that would continue after them (empty at the end of the list).
    static func collect<Item>(
        limit: Int? = nil, startingAt start: String = "", pageSize: Int = Pages.pageSize,
        _ page: (_ token: String, _ size: UInt32) async throws -> (items: [Item], next: String)
    ) async throws -> (items: [Item], next: String) {
        var items: [Item] = []
        var token = start
        repeat {
            let size = min(limit.map { $0 - items.count } ?? pageSize, pageSize)
            let (more, next) = try await page(token, UInt32(size))
            items += more
            token = next
        } while !token.isEmpty && items.count < (limit ?? .max)
        if let limit, items.count > limit { items.removeLast(items.count - limit) }
        return (items, token)
    }
}
