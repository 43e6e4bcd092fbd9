//! Entity tags of versioned records, for `ETag` and `If-Match` (optimistic concurrency).

/// The `ETag` of a record at `version` (a strong validator: the version changes with every
/// write).
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Whether an `If-Match` header value admits the record at `version` (`*`, or one of the
/// listed tags; a weak `W/` prefix is tolerated).
pub fn if_match(header: &str, version: i32) -> bool {
    let current = etag(version);
    header.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/") == current
    })
}
