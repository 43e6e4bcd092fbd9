//! The ADF parser against hostile or invalid documents (`tests/fixtures/bad/`) and every
//! way a document declares its encoding.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failure should abort loudly

mod common;

use common::*;
use forecourt_connectors::adf::{self, AdfError};
use forecourt_connectors::lead::LeadDocument;

// ---------------------------------------------------------------------------------------------
// Hostile and invalid documents: the exact kind, and failing fast

#[test]
fn hostile_and_invalid_fixtures_fail_with_their_kind() {
    for (name, kind) in [
        ("bad/billion-laughs.xml", AdfError::DTD_REFUSED),
        ("bad/xxe.xml", AdfError::DTD_REFUSED),
        ("bad/doctype.xml", AdfError::DTD_REFUSED),
        ("bad/deep-nesting.xml", AdfError::TOO_DEEP),
        ("bad/truncated.xml", AdfError::MALFORMED_XML),
        ("bad/not-xml.json", AdfError::MALFORMED_XML),
        ("bad/garbage.bin", AdfError::MALFORMED_XML),
        ("bad/not-adf-root.xml", AdfError::NOT_ADF),
        ("bad/no-prospect.xml", AdfError::NO_PROSPECT),
    ] {
        let e = error(&fixture(name));
        assert_eq!(e.kind, kind, "{name}: {e}");
        assert_eq!(e.field, None, "{name}");
        assert!(!e.detail.is_empty(), "{name}");
    }
}

#[test]
fn entities_are_never_expanded() {
    // The XXE's target must not appear anywhere, whatever happens.
    let e = error(&fixture("bad/xxe.xml"));
    assert!(!e.detail.contains("root:"), "{e}");
    // Without a DOCTYPE, an undeclared entity reference is refused too.
    let body =
        br#"<adf><prospect><customer><comments>caf&eacute;</comments></customer></prospect></adf>"#;
    let e = error(body);
    assert_eq!(e.kind, AdfError::DTD_REFUSED);
    assert!(e.detail.contains("&eacute;"), "{e}");
    // ... also in an attribute.
    let body = br#"<adf><prospect status="&xxe;"></prospect></adf>"#;
    assert_eq!(error(body).kind, AdfError::DTD_REFUSED);
    // A lower-case or commented-out declaration is still refused.
    for body in [
        &b"<!doctype adf><adf><prospect/></adf>"[..],
        b"<adf><!-- <!ENTITY x 'y'> --><prospect/></adf>",
    ] {
        assert_eq!(error(body).kind, AdfError::DTD_REFUSED);
    }
    // The five predefined entities and character references are fine.
    let body = br#"<adf><prospect><customer><comments>&lt;&gt;&amp;&quot;&apos; &#233;&#x20AC;</comments></customer></prospect></adf>"#;
    let document = adf::parse(body, None).unwrap();
    assert_eq!(
        document.prospects[0].customer.comments.as_deref(),
        Some("<>&\"' é€")
    );
}

#[test]
fn hostile_inputs_fail_fast() {
    // No timing assertion: each of these must come back with an error, not hang or crash.
    let deep = format!("<adf>{}", "<a>".repeat(1_000_000 / 3));
    assert_eq!(error(deep.as_bytes()).kind, AdfError::TOO_DEEP);

    let wide = format!("<adf><prospect>{}</prospect></adf>", "<a/>".repeat(30_000));
    assert_eq!(error(wide.as_bytes()).kind, AdfError::TOO_MANY_ELEMENTS);

    let big = format!("<adf>{}</adf>", " ".repeat(adf::MAX_DOCUMENT_BYTES));
    assert_eq!(error(big.as_bytes()).kind, AdfError::TOO_LARGE);

    let long_text = format!(
        "<adf><prospect><customer><comments>{}</comments></customer></prospect></adf>",
        "x".repeat(adf::MAX_TEXT_BYTES + 1)
    );
    assert_eq!(error(long_text.as_bytes()).kind, AdfError::TOO_LARGE);

    let long_attribute = format!(
        "<adf><prospect status=\"{}\"/></adf>",
        "x".repeat(adf::MAX_TEXT_BYTES + 1)
    );
    assert_eq!(error(long_attribute.as_bytes()).kind, AdfError::TOO_LARGE);

    let many_attributes = format!(
        "<adf><prospect {}/></adf>",
        (0..100_000)
            .map(|i| format!("a{i}=\"\""))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert_eq!(error(many_attributes.as_bytes()).kind, AdfError::TOO_LARGE);

    let many_prospects = format!(
        "<adf>{}</adf>",
        "<prospect/>".repeat(adf::MAX_PROSPECTS + 1)
    );
    assert_eq!(error(many_prospects.as_bytes()).kind, AdfError::TOO_LARGE);
    let most_prospects = format!("<adf>{}</adf>", "<prospect/>".repeat(adf::MAX_PROSPECTS));
    assert_eq!(
        adf::parse(most_prospects.as_bytes(), None)
            .unwrap()
            .prospects
            .len(),
        adf::MAX_PROSPECTS
    );

    let long_name = format!(
        "<adf><prospect><{0}>x</{0}></prospect></adf>",
        "n".repeat(200)
    );
    assert_eq!(error(long_name.as_bytes()).kind, AdfError::TOO_LARGE);

    // Many unknown elements: kept as extensions, but not without bound.
    let unknown = format!(
        "<adf><prospect>{}</prospect></adf>",
        "<x a=\"1\" b=\"2\" c=\"3\">v</x>".repeat(2_000)
    );
    assert_eq!(error(unknown.as_bytes()).kind, AdfError::TOO_LARGE);

    // Long names nested deep above many siblings: paths are built lazily, the parse returns.
    let name = "n".repeat(adf::MAX_NAME_BYTES);
    let deep_wide = format!(
        "<adf><prospect>{}{}{}</prospect></adf>",
        format!("<{name}>").repeat(28),
        "<a/>".repeat(19_000),
        format!("</{name}>").repeat(28)
    );
    let document = adf::parse(deep_wide.as_bytes(), None).unwrap();
    assert!(document.prospects[0].extensions.is_empty());

    // Unterminated constructs.
    for body in [
        &b"<adf><prospect><!-- never closed"[..],
        b"<adf><prospect><![CDATA[ never closed",
        b"<adf><prospect status=\"never closed",
        b"<adf><prospect status=\xE2\x80\x9Cnever closed",
        b"<adf><prospect><?pi never closed",
        b"<adf><prospect></",
        b"<adf><",
        b"<",
        b"",
    ] {
        assert_eq!(error(body).kind, AdfError::MALFORMED_XML, "{body:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings

fn lead_with(prolog: &str, name: &str) -> String {
    format!(
        "{prolog}<adf><prospect><customer><contact><name part=\"full\">{name}</name>\
         </contact></customer></prospect></adf>"
    )
}

fn full_name(document: &LeadDocument) -> &str {
    document.prospects[0].customer.full_name.as_deref().unwrap()
}

#[test]
fn encodings_from_declaration_charset_and_bom() {
    let latin1 = |prolog: &str| {
        let text = lead_with(prolog, "Renée Noël");
        encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
    };
    // Declared in the XML declaration, in any case and spelling.
    for label in [
        "ISO-8859-1",
        "iso-8859-1",
        "latin1",
        "Windows-1252",
        "cp1252",
    ] {
        let body = latin1(&format!("<?xml version=\"1.0\" encoding=\"{label}\"?>"));
        assert_eq!(full_name(&adf::parse(&body, None).unwrap()), "Renée Noël");
    }
    // Declared by the HTTP charset only.
    let body = latin1("");
    assert_eq!(
        full_name(&adf::parse(&body, Some("ISO-8859-1")).unwrap()),
        "Renée Noël"
    );
    assert_eq!(
        full_name(&adf::parse(&body, Some("\"windows-1252\"")).unwrap()),
        "Renée Noël"
    );
    // Not declared: UTF-8 is assumed, and Latin-1 bytes are not UTF-8.
    let e = adf::parse(&body, None).unwrap_err();
    assert_eq!(e.kind, AdfError::MALFORMED_XML);
    assert!(e.detail.contains("not valid UTF-8"), "{e}");
    // US-ASCII.
    let body = lead_with("<?xml version='1.0' encoding='US-ASCII'?>", "Ann");
    assert_eq!(
        full_name(&adf::parse(body.as_bytes(), None).unwrap()),
        "Ann"
    );

    // UTF-16 with a byte order mark, both byte orders.
    let text = lead_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", "Zoë €");
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        le.extend(unit.to_le_bytes());
        be.extend(unit.to_be_bytes());
    }
    assert_eq!(full_name(&adf::parse(&le, None).unwrap()), "Zoë €");
    assert_eq!(full_name(&adf::parse(&be, None).unwrap()), "Zoë €");
    // ... an odd trailing byte is not UTF-16.
    le.push(b'x');
    assert_eq!(error(&le).kind, AdfError::MALFORMED_XML);
}

#[test]
fn unsupported_encodings() {
    for (body, charset) in [
        (
            lead_with("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>", "A"),
            None,
        ),
        (
            lead_with("<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>", "A"),
            None,
        ),
        (
            lead_with("<?xml version=\"1.0\" encoding=\"ebcdic-x\"?>", "A"),
            None,
        ),
        // UTF-16 declared, but no byte order mark (and the bytes are ASCII anyway).
        (
            lead_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", "A"),
            None,
        ),
        (lead_with("", "A"), Some("koi8-r")),
    ] {
        let e = adf::parse(body.as_bytes(), charset).unwrap_err();
        assert_eq!(e.kind, AdfError::UNSUPPORTED_ENCODING, "{body}: {e}");
    }
    // UTF-16 without a BOM, UTF-32 with one.
    let utf16: Vec<u8> = "<adf/>".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(error(&utf16).kind, AdfError::UNSUPPORTED_ENCODING);
    assert_eq!(
        error(b"\xFF\xFE\0\0<\0\0\0").kind,
        AdfError::UNSUPPORTED_ENCODING
    );
}
