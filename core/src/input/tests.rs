//! The schema walker and the text rules, on a body type exercising every shape.

use super::*;
use poem_openapi::Object;
use serde_json::json;
use std::collections::HashMap;

/// An address.
#[derive(Object)]
struct Address {
    /// City.
    #[oai(validator(max_length = 5))]
    city: String,
}

/// A kind.
#[derive(poem_openapi::Enum)]
enum Kind {
    /// A.
    A,
}

/// A body exercising every shape the walker follows.
#[derive(Object)]
struct Body {
    /// Name.
    #[oai(validator(max_length = 3))]
    name: String,
    /// Emails.
    #[oai(validator(max_length = 4))]
    emails: Vec<String>,
    /// Nested, by `$ref`.
    address: Option<Address>,
    /// Nested in a list.
    addresses: Vec<Address>,
    /// A map.
    #[oai(validator(max_length = 2))]
    tags: HashMap<String, String>,
    /// Free text.
    #[oai(validator(max_length = 2000))]
    notes: Option<String>,
    /// An enum: no length, still no control characters.
    kind: Option<Kind>,
}

fn failing(v: Value) -> Option<(String, String)> {
    match check_json::<Body>(&v) {
        Ok(()) => None,
        Err(e) => e
            .field_errors()
            .first()
            .map(|f| (f.field.clone(), f.detail.to_string())),
    }
}

fn field_of(v: Value) -> Option<String> {
    failing(v).map(|(f, _)| f)
}

#[test]
fn lengths_follow_the_schema_through_refs_items_and_maps() {
    assert_eq!(field_of(json!({"name": "abc", "emails": ["abcd"]})), None);
    assert_eq!(field_of(json!({"name": "abcd"})).as_deref(), Some("name"));
    assert_eq!(
        field_of(json!({"emails": ["a", "abcde"]})).as_deref(),
        Some("emails[1]")
    );
    assert_eq!(
        field_of(json!({"address": {"city": "abcdef"}})).as_deref(),
        Some("address.city")
    );
    assert_eq!(
        field_of(json!({"addresses": [{"city": "ok"}, {"city": "abcdef"}]})).as_deref(),
        Some("addresses[1].city")
    );
    assert_eq!(
        field_of(json!({"tags": {"x": "abc"}})).as_deref(),
        Some("tags.x")
    );
}

#[test]
fn lengths_count_characters_not_bytes() {
    // Three characters, nine bytes.
    assert_eq!(field_of(json!({"name": "ééé"})), None);
    assert_eq!(field_of(json!({"name": "éééé"})).as_deref(), Some("name"));
}

#[test]
fn control_characters_are_refused_everywhere_and_named() {
    assert_eq!(
        field_of(json!({"name": "a\u{0}b"})).as_deref(),
        Some("name")
    );
    assert_eq!(
        field_of(json!({"emails": ["a\u{1}"]})).as_deref(),
        Some("emails[0]")
    );
    assert_eq!(
        field_of(json!({"address": {"city": "\u{7f}"}})).as_deref(),
        Some("address.city")
    );
    assert_eq!(field_of(json!({"kind": "A\u{0}"})).as_deref(), Some("kind"));
    assert_eq!(
        field_of(json!({"unknown": "\u{0}"})).as_deref(),
        Some("unknown")
    );
    // C1 controls too.
    assert_eq!(field_of(json!({"name": "\u{85}"})).as_deref(), Some("name"));
    let (field, detail) = failing(json!({"tags": {"a\u{0}": "x"}})).unwrap();
    assert_eq!(field, "tags.a?");
    assert!(detail.contains("U+0000"), "{detail}");
}

#[test]
fn tab_and_newline_pass_carriage_return_only_in_free_text() {
    assert_eq!(field_of(json!({"name": "a\tb"})), None);
    assert_eq!(field_of(json!({"name": "a\nb"})), None);
    assert_eq!(field_of(json!({"name": "a\rb"})).as_deref(), Some("name"));
    assert_eq!(field_of(json!({"notes": "line\r\nline\tx"})), None);
    assert_eq!(
        field_of(json!({"notes": "a\u{0}"})).as_deref(),
        Some("notes")
    );
}

#[test]
fn every_field_that_does_not_fit_the_schema_is_named() {
    let all = problems::<Body>(&json!({
        "name": 1, "emails": "x", "address": [], "kind": "B", "addresses": [{}], "x": 1
    }));
    let named: Vec<(&str, String)> = all
        .iter()
        .map(|p| (p.field.as_str(), p.detail.to_string()))
        .collect();
    let detail = |field: &str| {
        named
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("{field} not named in {named:?}"))
    };
    assert!(detail("name").contains("text"), "{named:?}");
    assert!(detail("emails").contains("list"), "{named:?}");
    assert!(detail("address").contains("object"), "{named:?}");
    assert!(detail("kind").contains("`A`"), "{named:?}");
    assert_eq!(detail("addresses[0].city"), "required");
    assert_eq!(
        all.iter().find(|p| p.field == "x").map(|p| p.kind),
        Some(UNKNOWN)
    );
    // Unknown members are the type's to refuse: `check_json` leaves them out.
    assert!(matches!(
        check_json::<Body>(
            &json!({"name": "a", "emails": [], "addresses": [], "tags": {}, "x": 1})
        ),
        Ok(())
    ));
    assert_eq!(field_of(json!("top\u{0}")).as_deref(), Some("body"));
}

/// Dates, times and ids.
#[derive(Object)]
struct Formats {
    /// A day.
    day: Option<chrono::NaiveDate>,
    /// A moment.
    at: Option<chrono::DateTime<chrono::Utc>>,
    /// An id.
    id: Option<uuid::Uuid>,
    /// A count.
    #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
    count: Option<u32>,
}

#[test]
fn formats_and_bounds_say_what_is_expected_with_an_example() {
    let all = problems::<Formats>(&json!({
        "day": "31/12/2026", "at": "2026-12-31 17:00", "id": "42", "count": 11
    }));
    let details: Vec<String> = all
        .iter()
        .map(|p| format!("{}: {}", p.field, p.detail))
        .collect();
    assert_eq!(
        details,
        [
            "at: a date and time in RFC 3339 form with its offset, for example \
             2026-12-31T17:30:00+01:00",
            "count: at most 10",
            "day: a date written YYYY-MM-DD, for example 2026-12-31",
            "id: an id (a UUID, for example 0190f5a2-8c1e-7b3a-9d4e-2f6a1b3c4d5e)",
        ]
    );
    assert!(
        problems::<Formats>(
            &json!({"day": "2026-12-31", "at": "2026-12-31T17:00:00Z", "count": 1})
        )
        .is_empty()
    );
}

#[test]
fn uris_are_checked_decoded() {
    let uri = |s: &str| s.parse::<poem::http::Uri>().unwrap();
    assert!(check_uri(&uri("/api/v1/search?q=a%20b&limit=5")).is_ok());
    let field = |s: &str| match check_uri(&uri(s)) {
        Err(Error::Validation { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field("/api/v1/search?q=a%00b"), "q");
    assert_eq!(field("/api/v1/opportunities?status=new%0D"), "status");
    assert_eq!(field("/api/v1/x%01y"), "path");
    assert_eq!(field("/api/v1/search?a%00=1"), "query");
    assert_eq!(percent_decode("a%C3%A9%zz%4"), "aé%zz%4");
}
