//! Helpers shared by the ADF parser's test files: reading fixtures and building the values
//! the parser should produce.
// Each test file is its own crate and uses some of these helpers only.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use forecourt_connectors::adf::{self, AdfError};
use forecourt_connectors::lead::{LeadDocument, LeadId, LeadPhone, Prospect};

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn parse_fixture(name: &str) -> LeadDocument {
    adf::parse(&fixture(name), None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The only prospect of a fixture.
pub fn prospect(name: &str) -> Prospect {
    let mut document = parse_fixture(name);
    assert_eq!(document.prospects.len(), 1, "{name}");
    document.prospects.remove(0)
}

pub fn error(body: &[u8]) -> AdfError {
    match adf::parse(body, None) {
        Ok(document) => panic!("expected an error, parsed {document:#?}"),
        Err(e) => e,
    }
}

pub fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

pub fn extension<'a>(prospect: &'a Prospect, path: &str) -> Option<&'a str> {
    prospect
        .extensions
        .iter()
        .find(|e| e.path == path)
        .map(|e| e.value.as_str())
}

pub fn phone(number: &str, kind: Option<&str>) -> LeadPhone {
    LeadPhone {
        number: number.to_owned(),
        kind: kind.map(str::to_owned),
    }
}

pub fn id(value: &str, source: &str) -> LeadId {
    LeadId {
        value: value.to_owned(),
        source: Some(source.to_owned()),
    }
}

pub fn some(value: &str) -> Option<String> {
    Some(value.to_owned())
}
