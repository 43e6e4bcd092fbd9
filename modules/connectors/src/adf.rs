//! The ADF 1.0 (Auto-lead Data Format) parser: turns an ADF/XML body into a [`LeadDocument`].
//!
//! Liberal in what it accepts, strict in what it trusts:
//!
//! * **Refused outright**: any `<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT`, `<!ATTLIST` or
//!   `<!NOTATION` markup, found by a byte scan before any XML parsing, anywhere in the body
//!   (even inside a comment or CDATA: a false positive costs a bounce, a false negative could
//!   cost an entity-expansion attack); and, while reading, any entity reference other than the
//!   five predefined ones and numeric character references. Nothing is ever expanded or
//!   fetched.
//! * **Bounded**: the body size, the element depth, the counts of elements, attributes,
//!   prospects and extensions, and the lengths of texts and names are capped (the `MAX_*`
//!   constants); the reader is an event pull parser and nothing in this module recurses, so the
//!   work is linear in the input and no input can blow the stack.
//! * **Tolerated**: what the spec's own examples and real senders get wrong. Element and
//!   attribute names and enumerated values are compared case-insensitively; processing
//!   instructions and XML declarations that are misplaced or not well-formed are dropped;
//!   typographic quotes and unquoted attribute values are repaired (see `repair`); a
//!   mismatched end tag (`<optionname>Sport</name>`) closes the current element; elements the
//!   model does not hold are kept as [`Extension`]s rather than dropped.
//! * **Not validated**: business rules (a usable email or phone, make and model present...).
//!   Processing decides those; this module refuses only what it cannot read or must not trust.

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use quick_xml::escape::{EscapeError, ParseCharRefError, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::lead::{
    Extension, Interest, LeadAddress, LeadCustomer, LeadDocument, LeadId, LeadPhone, LeadVehicle,
    Prospect, ProspectStatus, Provider, Timeframe, VehicleCondition, Vendor,
};

/// Largest body accepted, in bytes (1 MiB). The HTTP layer limits too; this keeps the parser
/// safe on its own (email intake, tests, fuzzing).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Deepest element nesting accepted; `adf` is at depth 1. Real ADF is at most 6 deep.
pub const MAX_DEPTH: usize = 32;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 20_000;
/// Most prospects (leads) accepted in one document.
pub const MAX_PROSPECTS: usize = 100;
/// Most text accepted in one element (and in one attribute value), in bytes (64 KiB).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most attributes accepted on one element.
pub const MAX_ATTRIBUTES: usize = 32;
/// Longest element or attribute name accepted, in bytes. Names end up in extension paths;
/// without this cap, long names nested deep would multiply into very long paths.
pub const MAX_NAME_BYTES: usize = 128;
/// Most extensions kept in one document. Bounds the memory that extension paths can take.
pub const MAX_EXTENSIONS: usize = 5_000;

/// How far into the body the XML declaration is looked for (it may follow other
/// processing instructions, as in the spec's own example).
const PROLOG_SCAN_BYTES: usize = 4096;
/// Longest user value quoted back in an error detail.
const QUOTE_MAX_CHARS: usize = 60;

/// Why an ADF body was refused.
///
/// `kind` is a stable snake_case identifier, used as the problem type of the HTTP answer; see
/// the associated constants. `field` names the offending value, for `invalid_value`, as a path
/// in the [`LeadDocument`] (`prospects[0].vehicles[1].year`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdfError {
    /// What went wrong, as a stable identifier (one of the associated constants).
    pub kind: &'static str,
    /// The offending value as a path in the lead model, when there is one.
    pub field: Option<String>,
    /// What went wrong, for a human.
    pub detail: String,
}

impl AdfError {
    /// The body is not well-formed XML (or not valid in its encoding), or is truncated.
    pub const MALFORMED_XML: &'static str = "malformed_xml";
    /// The body has a DTD, an entity declaration or a non-predefined entity reference.
    pub const DTD_REFUSED: &'static str = "dtd_refused";
    /// Elements nest deeper than [`MAX_DEPTH`].
    pub const TOO_DEEP: &'static str = "too_deep";
    /// The body, a text, a name, the prospect count or the extension count is over its cap.
    pub const TOO_LARGE: &'static str = "too_large";
    /// The document has more than [`MAX_ELEMENTS`] elements.
    pub const TOO_MANY_ELEMENTS: &'static str = "too_many_elements";
    /// The root element is not `adf`.
    pub const NOT_ADF: &'static str = "not_adf";
    /// The `adf` root holds no `prospect`.
    pub const NO_PROSPECT: &'static str = "no_prospect";
    /// The declared encoding is not one we read.
    pub const UNSUPPORTED_ENCODING: &'static str = "unsupported_encoding";
    /// A value cannot be read as what it must be (a year, a date, an amount...).
    pub const INVALID_VALUE: &'static str = "invalid_value";
    /// A text or attribute holds a control character (other than tab, line feed and carriage
    /// return), raw or as a character reference: the same rule, and the same problem type, as
    /// every other text input of the API. `field` names the element (`prospect/customer/
    /// contact/name`, `prospect/id@source`).
    pub const VALIDATION_ERROR: &'static str = "validation_error";

    fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            field: None,
            detail: detail.into(),
        }
    }

    fn invalid(field: String, detail: impl Into<String>) -> Self {
        Self {
            kind: Self::INVALID_VALUE,
            field: Some(field),
            detail: detail.into(),
        }
    }

    fn malformed(detail: impl Into<String>) -> Self {
        Self::new(Self::MALFORMED_XML, detail)
    }

    fn too_large(detail: impl Into<String>) -> Self {
        Self::new(Self::TOO_LARGE, detail)
    }
}

impl fmt::Display for AdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({}): {}", self.kind, field, self.detail),
            None => write!(f, "{}: {}", self.kind, self.detail),
        }
    }
}

impl std::error::Error for AdfError {}

/// Parses an ADF 1.0 document into a [`LeadDocument`], one [`Prospect`] per `<prospect>`.
///
/// `declared_charset` is the `charset=` parameter of the HTTP `Content-Type`, if any. The
/// encoding is taken from, in order: a byte order mark (UTF-8, UTF-16LE/BE), the XML
/// declaration's `encoding=`, `declared_charset`, else UTF-8. UTF-8, ISO-8859-1 (read as
/// windows-1252, as WHATWG and browsers do), windows-1252 and US-ASCII are read; anything else
/// is `unsupported_encoding`.
///
/// Never panics, whatever the input.
pub fn parse(body: &[u8], declared_charset: Option<&str>) -> Result<LeadDocument, AdfError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(AdfError::too_large(format!(
            "the document is {} bytes; at most {MAX_DOCUMENT_BYTES} are accepted",
            body.len()
        )));
    }
    // Refused before anything else, on the raw bytes (every encoding we read but UTF-16 is
    // ASCII-compatible), then again on the decoded text for UTF-16.
    refuse_dtd(body)?;
    let text = decode(body, declared_charset)?;
    refuse_dtd(text.as_bytes())?;
    let xml = repair(&text)?;
    let dom = build_dom(&xml)?;
    map_document(&dom)
}

// ---------------------------------------------------------------------------------------------
// DTD refusal

/// Refuses any markup declaration. A plain byte scan, so it cannot be fooled by how an XML
/// parser would tokenise the document, and it is linear.
fn refuse_dtd(bytes: &[u8]) -> Result<(), AdfError> {
    const DECLARATIONS: [&[u8]; 5] = [b"DOCTYPE", b"ENTITY", b"ELEMENT", b"ATTLIST", b"NOTATION"];
    for (at, pair) in bytes.windows(2).enumerate() {
        if pair != b"<!" {
            continue;
        }
        let rest = bytes.get(at + 2..).unwrap_or_default();
        for declaration in DECLARATIONS {
            if rest.len() >= declaration.len()
                && rest[..declaration.len()].eq_ignore_ascii_case(declaration)
            {
                return Err(AdfError::new(
                    AdfError::DTD_REFUSED,
                    format!(
                        "the document contains a <!{} declaration; DTDs and entity \
                         declarations are refused, send the ADF document without them",
                        String::from_utf8_lossy(declaration)
                    ),
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Encodings

/// Decodes the whole body to a `String` (see [`parse`] for the order of precedence).
fn decode(body: &[u8], declared_charset: Option<&str>) -> Result<String, AdfError> {
    // UTF-32 BOMs first: FF FE 00 00 would otherwise read as a UTF-16LE BOM.
    if body.starts_with(b"\xFF\xFE\0\0") || body.starts_with(b"\0\0\xFE\xFF") {
        return Err(AdfError::new(
            AdfError::UNSUPPORTED_ENCODING,
            "UTF-32 is not supported; send UTF-8",
        ));
    }
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
        return decode_utf8(rest, "its byte order mark says UTF-8");
    }
    if let Some(rest) = body.strip_prefix(b"\xFF\xFE") {
        return decode_utf16(UTF_16LE, rest);
    }
    if let Some(rest) = body.strip_prefix(b"\xFE\xFF") {
        return decode_utf16(UTF_16BE, rest);
    }
    if body.starts_with(b"<\0") || body.starts_with(b"\0<") {
        return Err(AdfError::new(
            AdfError::UNSUPPORTED_ENCODING,
            "the document looks like UTF-16 without a byte order mark; add one, or send UTF-8",
        ));
    }

    let declared = xml_declaration_encoding(body)
        .map(|label| (label, "the XML declaration"))
        .or_else(|| {
            declared_charset
                .map(|c| c.trim().trim_matches(|q| q == '"' || q == '\''))
                .filter(|c| !c.is_empty())
                .map(|label| (label, "the Content-Type charset"))
        });
    let Some((label, source)) = declared else {
        return decode_utf8(body, "no encoding was declared, so UTF-8 was assumed");
    };
    match Encoding::for_label(label.as_bytes()) {
        Some(encoding) if encoding == UTF_8 => {
            decode_utf8(body, &format!("{source} says `{}`", quote(label)))
        }
        // WHATWG maps ISO-8859-1, Latin-1 and US-ASCII to windows-1252, a superset of them.
        Some(encoding) if encoding == WINDOWS_1252 => Ok(WINDOWS_1252
            .decode_without_bom_handling(body)
            .0
            .into_owned()),
        _ => Err(AdfError::new(
            AdfError::UNSUPPORTED_ENCODING,
            format!(
                "{source} declares the encoding `{}`, which is not supported; use UTF-8, \
                 ISO-8859-1, windows-1252 or US-ASCII",
                quote(label)
            ),
        )),
    }
}

fn decode_utf8(bytes: &[u8], why_utf8: &str) -> Result<String, AdfError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => Err(AdfError::malformed(format!(
            "the document is not valid UTF-8 (bad byte at offset {}), and {why_utf8}; \
             declare its real encoding in the XML declaration (e.g. encoding=\"ISO-8859-1\")",
            e.valid_up_to()
        ))),
    }
}

fn decode_utf16(encoding: &'static Encoding, bytes: &[u8]) -> Result<String, AdfError> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or_else(|| {
            AdfError::malformed(format!(
                "the document is not valid {} (its byte order mark says it is)",
                encoding.name()
            ))
        })
}

/// The `encoding=` of the XML declaration, found on the raw bytes. The declaration may follow
/// other processing instructions and comments (the spec's example puts `<?ADF ...?>` first),
/// and its quotes may be typographic, in UTF-8 or windows-1252 bytes.
fn xml_declaration_encoding(body: &[u8]) -> Option<&str> {
    let head = &body[..body.len().min(PROLOG_SCAN_BYTES)];
    let mut at = 0;
    loop {
        while head.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let rest = head.get(at..)?;
        if rest.starts_with(b"<!--") {
            at += 4 + find(&rest[4..], b"-->")? + 3;
            continue;
        }
        if !rest.starts_with(b"<?") {
            return None;
        }
        // Searched after the `<?`, so that `<?>` is not taken for an empty instruction.
        let end = 2 + find(&rest[2..], b"?>")?;
        let instruction = &rest[2..end];
        let target_len = instruction
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(instruction.len());
        if instruction[..target_len].eq_ignore_ascii_case(b"xml") {
            return pseudo_attribute(&instruction[target_len..], b"encoding");
        }
        at += end + 2;
    }
}

/// The value of a pseudo-attribute (`encoding="..."`) of an XML declaration, case-insensitive
/// and with any kind of quotes.
fn pseudo_attribute<'a>(content: &'a [u8], name: &[u8]) -> Option<&'a str> {
    let start = content
        .windows(name.len())
        .position(|w| w.eq_ignore_ascii_case(name))?;
    let mut rest = &content[start + name.len()..];
    rest = rest.trim_ascii_start();
    rest = rest.strip_prefix(b"=")?.trim_ascii_start();
    // ASCII quotes, typographic quotes in UTF-8 (E2 80 98/99/9C/9D) or windows-1252 (91-94).
    loop {
        if let Some(r) = rest.strip_prefix(b"\xE2\x80")
            && matches!(r.first(), Some(0x98 | 0x99 | 0x9C | 0x9D))
        {
            rest = &r[1..];
            continue;
        }
        match rest.first() {
            Some(b'"' | b'\'' | 0x91..=0x94) => rest = &rest[1..],
            _ => break,
        }
    }
    let len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')))
        .unwrap_or(rest.len());
    std::str::from_utf8(&rest[..len])
        .ok()
        .filter(|s| !s.is_empty())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Repair

/// A single forward pass that fixes what the spec's own examples and careless senders get
/// wrong, so that a strict XML reader can read the result. It only ever inserts or removes
/// ASCII bytes and replaces whole typographic-quote characters, so the output stays UTF-8.
///
/// * A processing instruction whose target is `xml` (any case) is kept only when it is the
///   very first thing in the document, spelt `<?xml` and pure ASCII; otherwise it is dropped
///   (`<?XML VERSION “1.0”?>` after `<?ADF VERSION "1.0"?>`). Other processing instructions
///   whose target is not a name are dropped too.
/// * In start tags, attribute values delimited by typographic quotes (`“ ” „`) get ASCII
///   quotes; unquoted values (`sequence=1`) get quoted; a bare `&` or `<` in a value is
///   escaped; an attribute with no value, or a stray character, is dropped.
/// * A `<` in text that cannot start markup (`price < 20000`) is escaped.
///
/// Comments, CDATA sections, end tags and text are copied unchanged.
fn repair(text: &str) -> Result<String, AdfError> {
    let s = text.as_bytes();
    let n = s.len();
    let mut out = Vec::with_capacity(n + n / 16);
    let mut i = 0;
    while i < n {
        let next = s[i..].iter().position(|&b| b == b'<').map_or(n, |p| i + p);
        out.extend_from_slice(&s[i..next]);
        i = next;
        if i >= n {
            break;
        }
        let rest = &s[i..];
        let copy_through = |terminator: &[u8], from: usize| {
            find(&rest[from..], terminator).map_or(n, |p| i + from + p + terminator.len())
        };
        if rest.starts_with(b"<!--") {
            let end = copy_through(b"-->", 4);
            out.extend_from_slice(&s[i..end]);
            i = end;
        } else if rest.starts_with(b"<![CDATA[") {
            let end = copy_through(b"]]>", 9);
            out.extend_from_slice(&s[i..end]);
            i = end;
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") {
            let end = copy_through(b">", 2);
            out.extend_from_slice(&s[i..end]);
            i = end;
        } else if rest.starts_with(b"<?") {
            let end = copy_through(b"?>", 2);
            if keep_processing_instruction(&s[i..end], i == 0) {
                out.extend_from_slice(&s[i..end]);
            }
            i = end;
        } else if rest.get(1).is_some_and(|&b| is_name_start(b)) {
            i = repair_start_tag(s, i, &mut out);
        } else {
            out.extend_from_slice(b"&lt;");
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        // Cannot happen (see above); refusing is still better than panicking.
        AdfError::malformed("the document could not be repaired into valid UTF-8")
    })
}

/// Whether a `<?...?>` is kept by [`repair`].
fn keep_processing_instruction(instruction: &[u8], at_start: bool) -> bool {
    if !instruction.ends_with(b"?>") || instruction.len() < 4 {
        return false;
    }
    let content = &instruction[2..instruction.len() - 2];
    let target_len = content
        .iter()
        .position(|&b| b.is_ascii_whitespace())
        .unwrap_or(content.len());
    let target = &content[..target_len];
    if target.eq_ignore_ascii_case(b"xml") {
        at_start && target == b"xml" && instruction.is_ascii()
    } else {
        target.first().is_some_and(|&b| is_name_start(b))
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

/// The length of the typographic double quote (`“ ” „`, 3 bytes in UTF-8) starting `s`, if any.
fn typographic_quote(s: &[u8]) -> Option<usize> {
    match s {
        [0xE2, 0x80, 0x9C..=0x9E, ..] => Some(3),
        _ => None,
    }
}

fn is_attribute_name_byte(s: &[u8]) -> bool {
    match s.first() {
        None => false,
        Some(&b) => {
            !(b.is_ascii_whitespace() || matches!(b, b'>' | b'/' | b'<' | b'=' | b'"' | b'\''))
                && typographic_quote(s).is_none()
        }
    }
}

/// Rewrites the start tag at `s[start]` (`<` followed by a name start) into `out`; returns the
/// index just after it.
fn repair_start_tag(s: &[u8], start: usize, out: &mut Vec<u8>) -> usize {
    let n = s.len();
    let mut j = start + 1;
    while j < n && is_attribute_name_byte(&s[j..]) {
        j += 1;
    }
    out.extend_from_slice(&s[start..j]);
    loop {
        while j < n && s[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= n {
            // Truncated inside a tag: leave it so, the reader reports it.
            return n;
        }
        if s[j] == b'>' {
            out.push(b'>');
            return j + 1;
        }
        if s[j..].starts_with(b"/>") {
            out.extend_from_slice(b"/>");
            return j + 2;
        }
        if !is_attribute_name_byte(&s[j..]) {
            // A stray quote, `=`, `/` or `<`: dropped (a whole character, to stay UTF-8).
            j += typographic_quote(&s[j..]).unwrap_or_else(|| utf8_len(s[j]));
            continue;
        }
        let name_start = j;
        while j < n && is_attribute_name_byte(&s[j..]) {
            j += 1;
        }
        let name = &s[name_start..j];
        while j < n && s[j].is_ascii_whitespace() {
            j += 1;
        }
        if s.get(j) != Some(&b'=') {
            // `<tag flag>`: an attribute without a value is not XML and carries nothing.
            continue;
        }
        j += 1;
        while j < n && s[j].is_ascii_whitespace() {
            j += 1;
        }
        let (value, next, delimiter) = attribute_value(s, j);
        out.push(b' ');
        out.extend_from_slice(name);
        out.push(b'=');
        out.push(delimiter);
        for (k, &b) in value.iter().enumerate() {
            match b {
                b'<' => out.extend_from_slice(b"&lt;"),
                b'"' if delimiter == b'"' => out.extend_from_slice(b"&quot;"),
                b'&' if !starts_reference(&value[k..]) => out.extend_from_slice(b"&amp;"),
                _ => out.push(b),
            }
        }
        out.push(delimiter);
        j = next;
    }
}

/// The attribute value starting at `s[j]`: its raw bytes, the index after it and the ASCII
/// quote to write it with.
fn attribute_value(s: &[u8], j: usize) -> (&[u8], usize, u8) {
    let n = s.len();
    if s.get(j) == Some(&b'\'') {
        let end = s[j + 1..]
            .iter()
            .position(|&b| b == b'\'')
            .map_or(n, |p| j + 1 + p);
        return (&s[j + 1..end], (end + 1).min(n), b'\'');
    }
    let open = if s.get(j) == Some(&b'"') {
        Some(1)
    } else {
        typographic_quote(&s[j.min(n)..])
    };
    if let Some(open) = open {
        // An ASCII double quote closes. So does a typographic one when what follows ends the
        // tag or starts the next attribute: the spec writes `type="monthly” currency=”USD"`,
        // while `"a “b” c"` keeps its inner quotes.
        let from = j + open;
        let mut k = from;
        while k < n {
            if s[k] == b'"' {
                return (&s[from..k], k + 1, b'"');
            }
            if let Some(len) = typographic_quote(&s[k..])
                && ends_attribute_value(&s[k + len..])
            {
                return (&s[from..k], k + len, b'"');
            }
            k += 1;
        }
        return (&s[from..n], n, b'"');
    }
    // Unquoted (`sequence=1`): up to whitespace, `>`, `/>` or `<`.
    let mut k = j;
    while k < n
        && !s[k].is_ascii_whitespace()
        && s[k] != b'>'
        && s[k] != b'<'
        && !s[k..].starts_with(b"/>")
    {
        k += 1;
    }
    (&s[j..k], k, b'"')
}

/// Whether what follows a typographic quote shows that it closed an attribute value: the end
/// of the input or of the tag, or whitespace then `name=`. The lookahead only covers the name
/// that follows, which nothing else looks ahead over, so the repair stays linear.
fn ends_attribute_value(after: &[u8]) -> bool {
    let rest = after.trim_ascii_start();
    if rest.is_empty() || rest[0] == b'>' || rest[0] == b'/' {
        return true;
    }
    if rest.len() == after.len() {
        return false;
    }
    let name = rest
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')))
        .unwrap_or(rest.len());
    name > 0 && rest[name..].trim_ascii_start().first() == Some(&b'=')
}

/// Whether `s` (starting with `&`) starts a syntactically valid reference: `&name;`, `&#123;`
/// or `&#x1F;`. Bounded lookahead, so the repair stays linear.
fn starts_reference(s: &[u8]) -> bool {
    let body = &s[1..s.len().min(40)];
    let Some(end) = body.iter().position(|&b| b == b';') else {
        return false;
    };
    let reference = &body[..end];
    match reference {
        [b'#', b'x' | b'X', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
        [b'#', dec @ ..] => !dec.is_empty() && dec.iter().all(u8::is_ascii_digit),
        [first, rest @ ..] => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        [] => false,
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: a small, bounded element tree

/// An element, with its lower-cased local name, its attributes (lower-cased local names,
/// unescaped values) and its own text (text and CDATA directly inside it, concatenated).
#[derive(Debug)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<usize>,
}

/// The elements of a document; `nodes[0]` is the `adf` root. A tree is simpler to map than a
/// stream, and the caps bound it (at most [`MAX_ELEMENTS`] nodes, text at most the body).
#[derive(Debug)]
struct Dom {
    nodes: Vec<Node>,
}

struct Builder {
    nodes: Vec<Node>,
    stack: Vec<usize>,
    root_closed: bool,
    prospects: usize,
}

fn build_dom(xml: &str) -> Result<Dom, AdfError> {
    let mut reader = Reader::from_str(xml);
    let config = reader.config_mut();
    // The spec's examples close `<optionname>` with `</name>`: an end tag closes the current
    // element, whatever its name. An end tag with nothing open is still an error.
    config.check_end_names = false;
    config.allow_unmatched_ends = false;
    // `Smith & Sons` is common in free text; a lone `&` is read as itself.
    config.allow_dangling_amp = true;
    config.trim_text(false);

    let mut builder = Builder {
        nodes: Vec::new(),
        stack: Vec::new(),
        root_closed: false,
        prospects: 0,
    };
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let line = line_of(xml, reader.error_position());
                return Err(AdfError::malformed(format!("line {line}: {e}")));
            }
        };
        match event {
            Event::Start(tag) => builder.open(&tag, false)?,
            Event::Empty(tag) => builder.open(&tag, true)?,
            Event::End(_) => builder.close()?,
            Event::Text(text) => builder.text(&text.xml10_content())?,
            Event::CData(cdata) => builder.text(&cdata.xml10_content())?,
            Event::GeneralRef(reference) => {
                if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) => builder.text(c.encode_utf8(&mut [0; 4]))?,
                        // `&#0;` is no character at all; refused like any other control
                        // character, naming the element.
                        _ if is_nul_reference(&reference) => builder.text("\0")?,
                        _ => {
                            return Err(AdfError::malformed(format!(
                                "`&{};` is not a valid character reference",
                                quote(&reference)
                            )));
                        }
                    }
                } else if let Some(value) = resolve_predefined_entity(&reference) {
                    builder.text(value)?;
                } else {
                    return Err(undeclared_entity(&reference));
                }
            }
            Event::DocType(_) => {
                return Err(AdfError::new(
                    AdfError::DTD_REFUSED,
                    "the document has a DOCTYPE; DTDs are refused",
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(&open) = builder.stack.last() {
        return Err(AdfError::malformed(format!(
            "the document ends inside <{}>; it is truncated",
            quote(&builder.nodes[open].name)
        )));
    }
    if builder.nodes.is_empty() {
        return Err(AdfError::malformed(
            "no XML element found; the body is not an XML document",
        ));
    }
    Ok(Dom {
        nodes: builder.nodes,
    })
}

impl Builder {
    fn open(&mut self, tag: &BytesStart<'_>, empty: bool) -> Result<(), AdfError> {
        if self.root_closed {
            // A second root could be a second document whose leads would be silently lost.
            return Err(AdfError::malformed(
                "an element follows the end of the <adf> root element",
            ));
        }
        if self.nodes.len() >= MAX_ELEMENTS {
            return Err(AdfError::new(
                AdfError::TOO_MANY_ELEMENTS,
                format!("the document has more than {MAX_ELEMENTS} elements"),
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(AdfError::new(
                AdfError::TOO_DEEP,
                format!("elements nest more than {MAX_DEPTH} deep"),
            ));
        }
        let qname = tag.name();
        check_name(qname.as_ref())?;
        let name = qname.local_name().as_ref().to_lowercase();
        match self.stack.as_slice() {
            [] if name != "adf" => {
                return Err(AdfError::new(
                    AdfError::NOT_ADF,
                    format!(
                        "the root element is <{}>, not <adf>; this is not an ADF document",
                        quote(qname.as_ref())
                    ),
                ));
            }
            [_root] if name == "prospect" => {
                self.prospects += 1;
                if self.prospects > MAX_PROSPECTS {
                    return Err(AdfError::too_large(format!(
                        "the document has more than {MAX_PROSPECTS} prospects; split it"
                    )));
                }
            }
            _ => {}
        }

        let mut attrs = Vec::new();
        for (count, attr) in tag.attributes().with_checks(false).enumerate() {
            if count >= MAX_ATTRIBUTES {
                return Err(AdfError::too_large(format!(
                    "<{}> has more than {MAX_ATTRIBUTES} attributes",
                    quote(&name)
                )));
            }
            let attr = attr.map_err(|e| {
                AdfError::malformed(format!("an attribute of <{}>: {e}", quote(&name)))
            })?;
            let key = attr.key.as_ref();
            check_name(key)?;
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| match e {
                    quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, entity)) => {
                        undeclared_entity(&entity)
                    }
                    quick_xml::Error::Escape(EscapeError::InvalidCharRef(
                        ParseCharRefError::IllegalCharacter(0),
                    )) => check_chars(format!("{}@{}", self.path_with(&name), quote(key)), "\0")
                        .err()
                        .unwrap_or_else(|| AdfError::malformed("a NUL character reference")),
                    e => AdfError::malformed(format!(
                        "attribute `{}` of <{}>: {e}",
                        quote(key),
                        quote(&name)
                    )),
                })?;
            if value.len() > MAX_TEXT_BYTES {
                return Err(AdfError::too_large(format!(
                    "attribute `{}` of <{}> is longer than {MAX_TEXT_BYTES} bytes",
                    quote(key),
                    quote(&name)
                )));
            }
            let local = attr.key.local_name().as_ref().to_lowercase();
            check_chars(format!("{}@{local}", self.path_with(&name)), &value)?;
            attrs.push((local, value.into_owned()));
        }

        let id = self.nodes.len();
        self.nodes.push(Node {
            name,
            attrs,
            text: String::new(),
            children: Vec::new(),
        });
        if let Some(&parent) = self.stack.last() {
            self.nodes[parent].children.push(id);
        }
        if empty {
            self.root_closed |= self.stack.is_empty();
        } else {
            self.stack.push(id);
        }
        Ok(())
    }

    /// The open elements below the root, as `prospect/customer/contact/name`: how a problem
    /// names the element it is about.
    fn element_path(&self) -> String {
        let names: Vec<&str> = self
            .stack
            .iter()
            .skip(1)
            .map(|&id| self.nodes[id].name.as_str())
            .collect();
        names.join("/")
    }

    /// [`Self::element_path`] of an element being opened.
    fn path_with(&self, name: &str) -> String {
        match (self.stack.is_empty(), self.element_path()) {
            (true, _) => String::new(),
            (false, p) if p.is_empty() => name.to_string(),
            (false, p) => format!("{p}/{name}"),
        }
    }

    fn close(&mut self) -> Result<(), AdfError> {
        if self.stack.pop().is_none() {
            return Err(AdfError::malformed("an end tag closes nothing"));
        }
        self.root_closed |= self.stack.is_empty();
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), AdfError> {
        // Text outside the root (a mail signature after `</adf>`) is ignored.
        let Some(&current) = self.stack.last() else {
            return Ok(());
        };
        check_chars(self.element_path(), text)?;
        let node = &mut self.nodes[current];
        if node.text.len() + text.len() > MAX_TEXT_BYTES {
            return Err(AdfError::too_large(format!(
                "<{}> holds more than {MAX_TEXT_BYTES} bytes of text",
                quote(&node.name)
            )));
        }
        node.text.push_str(text);
        Ok(())
    }
}

/// The control-character rule of every text input ([`forecourt_core::input`]); the problem
/// names the element, never quotes the text.
fn check_chars(field: String, text: &str) -> Result<(), AdfError> {
    forecourt_core::input::check_text(&field, text, true).map_err(|e| AdfError {
        kind: AdfError::VALIDATION_ERROR,
        detail: match e {
            forecourt_core::Error::Validation { detail, .. } => detail.to_string(),
            other => other.to_string(),
        },
        field: Some(if field.is_empty() {
            "adf".into()
        } else {
            field
        }),
    })
}

/// Whether a character reference is `&#0;` (in any spelling: `&#x00;`, `&#000;`).
fn is_nul_reference(reference: &str) -> bool {
    let digits = reference.trim_start_matches('#');
    let (digits, radix) = match digits.strip_prefix(['x', 'X']) {
        Some(hex) => (hex, 16),
        None => (digits, 10),
    };
    !digits.is_empty() && u32::from_str_radix(digits, radix) == Ok(0)
}

fn check_name(name: &str) -> Result<(), AdfError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(AdfError::too_large(format!(
            "an element or attribute name is longer than {MAX_NAME_BYTES} bytes"
        )));
    }
    Ok(())
}

fn undeclared_entity(name: &str) -> AdfError {
    AdfError::new(
        AdfError::DTD_REFUSED,
        format!(
            "`&{};` is not one of the five predefined XML entities; other entities are refused",
            quote(name)
        ),
    )
}

/// The 1-based line of a byte offset, for error details.
fn line_of(text: &str, offset: u64) -> usize {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A user-supplied value, shortened for an error detail.
fn quote(value: &str) -> String {
    if value.chars().count() <= QUOTE_MAX_CHARS {
        value.to_owned()
    } else {
        let mut short: String = value.chars().take(QUOTE_MAX_CHARS).collect();
        short.push('…');
        short
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping to the lead model

fn map_document(dom: &Dom) -> Result<LeadDocument, AdfError> {
    let mut mapper = Mapper {
        dom,
        extensions: Vec::new(),
        extensions_left: MAX_EXTENSIONS,
    };
    let mut prospects = Vec::new();
    // Other children of `adf` have no prospect to be kept in; they are ignored.
    for &child in &dom.nodes[0].children {
        if dom.nodes[child].name == "prospect" {
            let index = prospects.len();
            prospects.push(mapper.prospect(child, index)?);
        }
    }
    if prospects.is_empty() {
        return Err(AdfError::new(
            AdfError::NO_PROSPECT,
            "the <adf> document holds no <prospect>",
        ));
    }
    Ok(LeadDocument { prospects })
}

struct Mapper<'d> {
    dom: &'d Dom,
    /// The extensions of the prospect being mapped.
    extensions: Vec<Extension>,
    /// What [`MAX_EXTENSIONS`] still allows in this document.
    extensions_left: usize,
}

/// What a contact has been read into so far: emails and phones keep their preference flag
/// until the end, when the preferred ones move first.
#[derive(Default)]
struct ContactParts {
    emails: Vec<(bool, String)>,
    phones: Vec<(bool, LeadPhone)>,
    address_seen: bool,
}

impl<'d> Mapper<'d> {
    fn node(&self, id: usize) -> &'d Node {
        &self.dom.nodes[id]
    }

    fn name(&self, id: usize) -> &'d str {
        &self.node(id).name
    }

    /// The element's text, trimmed; `None` when empty. For free text (comments).
    fn text(&self, id: usize) -> Option<String> {
        let text = self.node(id).text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// The element's text with runs of whitespace collapsed to one space; `None` when empty.
    /// For one-line values (names, make, email) that pretty-printers may have wrapped.
    fn line(&self, id: usize) -> Option<String> {
        let line = self
            .node(id)
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        (!line.is_empty()).then_some(line)
    }

    /// The first attribute of that (lower-case) name, trimmed; `None` when absent or empty.
    fn attr(&self, id: usize, key: &str) -> Option<&'d str> {
        self.node(id)
            .attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The children of an element with their extension paths below `base`: see
    /// [`Self::child_segments`].
    fn children(&self, id: usize, base: &str) -> Vec<(usize, String)> {
        self.child_segments(id)
            .into_iter()
            .map(|(child, segment)| (child, join_path(base, &segment)))
            .collect()
    }

    /// The children of an element with their path segments: `name`, or `name[k]` (0-based)
    /// when the name repeats among the siblings. Vehicles are always indexed, so
    /// `vehicle[0]/...` matches `vehicles[0]`.
    fn child_segments(&self, id: usize) -> Vec<(usize, String)> {
        let children = &self.node(id).children;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for &child in children {
            *counts.entry(self.name(child)).or_default() += 1;
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        children
            .iter()
            .map(|&child| {
                let name = self.name(child);
                let segment = if counts.get(name).copied().unwrap_or(0) > 1 || name == "vehicle" {
                    let k = seen.entry(name).or_default();
                    let segment = format!("{name}[{k}]");
                    *k += 1;
                    segment
                } else {
                    name.to_owned()
                };
                (child, segment)
            })
            .collect()
    }

    fn push_extension(&mut self, path: String, value: String) -> Result<(), AdfError> {
        if self.extensions_left == 0 {
            return Err(AdfError::too_large(format!(
                "the document has more than {MAX_EXTENSIONS} values outside the ADF elements \
                 the lead model holds"
            )));
        }
        self.extensions_left -= 1;
        self.extensions.push(Extension { path, value });
        Ok(())
    }

    /// Keeps the attributes of an element that the model does not hold, as `path/@name`.
    fn extension_attrs(
        &mut self,
        id: usize,
        path: &str,
        consumed: &[&str],
    ) -> Result<(), AdfError> {
        for (key, value) in &self.node(id).attrs {
            let value = value.trim();
            if consumed.contains(&key.as_str()) || value.is_empty() {
                continue;
            }
            self.push_extension(join_path(path, &format!("@{key}")), value.to_owned())?;
        }
        Ok(())
    }

    /// Keeps a whole element the model does not hold: its text, its attributes and its
    /// descendants, in document order. Iterative: no recursion, whatever the depth. A node's
    /// full path is built only when it is visited (pending siblings share their parent's),
    /// so deep paths are never materialised for thousands of siblings at once.
    fn extension_subtree(&mut self, id: usize, path: String) -> Result<(), AdfError> {
        let mut pending: Vec<(usize, Rc<str>, String)> = vec![(id, Rc::from(""), path)];
        while let Some((id, parent, segment)) = pending.pop() {
            let path: Rc<str> = Rc::from(join_path(&parent, &segment));
            self.extension_attrs(id, &path, &[])?;
            if let Some(text) = self.text(id) {
                self.push_extension(path.to_string(), text)?;
            }
            let children = self.child_segments(id);
            pending.extend(
                children
                    .into_iter()
                    .rev()
                    .map(|(child, segment)| (child, Rc::clone(&path), segment)),
            );
        }
        Ok(())
    }

    fn prospect(&mut self, id: usize, index: usize) -> Result<Prospect, AdfError> {
        let field = |name: &str| format!("prospects[{index}].{name}");
        let status = match self.attr(id, "status").map(str::to_lowercase).as_deref() {
            None | Some("new") => ProspectStatus::New,
            Some("resend") => ProspectStatus::Resend,
            Some(other) => {
                return Err(AdfError::invalid(
                    field("status"),
                    format!(
                        "`{}` is not a prospect status (new or resend)",
                        quote(other)
                    ),
                ));
            }
        };
        // Activix adds `type="quote|order"`: kept as the extension `@type`.
        self.extension_attrs(id, "", &["status"])?;

        let mut ids = Vec::new();
        let mut request_date = None;
        let mut request_date_seen = false;
        let mut vehicles = Vec::new();
        let mut customer = None;
        let mut timeframe = None;
        let mut vendor = None;
        let mut vendor_seen = false;
        let mut provider = None;
        let mut provider_seen = false;
        for (child, path) in self.children(id, "") {
            match self.name(child) {
                "id" => {
                    if let Some(value) = self.line(child) {
                        // Sequence 1 is the originating system's id: it goes first, and the
                        // first id is the idempotency key.
                        let sequence = self
                            .attr(child, "sequence")
                            .and_then(|s| s.parse::<u64>().ok())
                            .unwrap_or(u64::MAX);
                        let source = self.attr(child, "source").map(str::to_owned);
                        ids.push((sequence, LeadId { value, source }));
                    }
                    self.extension_attrs(child, &path, &["sequence", "source"])?;
                }
                "requestdate" if !request_date_seen => {
                    request_date_seen = true;
                    request_date = self.date(child, field("request_date"))?;
                    self.extension_attrs(child, &path, &[])?;
                }
                "vehicle" => {
                    let vehicle_index = vehicles.len();
                    vehicles.push(self.vehicle(child, &path, index, vehicle_index)?);
                }
                "customer" if customer.is_none() => {
                    let (c, t) = self.customer(child, &path, index)?;
                    customer = Some(c);
                    timeframe = t;
                }
                "vendor" if !vendor_seen => {
                    vendor_seen = true;
                    vendor = self.vendor(child, &path)?;
                }
                "provider" if !provider_seen => {
                    provider_seen = true;
                    provider = self.provider(child, &path)?;
                }
                _ => self.extension_subtree(child, path)?,
            }
        }
        ids.sort_by_key(|(sequence, _)| *sequence);
        Ok(Prospect {
            ids: ids.into_iter().map(|(_, id)| id).collect(),
            status,
            request_date,
            customer: customer.unwrap_or_default(),
            vehicles,
            timeframe,
            provider,
            vendor,
            extensions: std::mem::take(&mut self.extensions),
        })
    }

    fn date(&self, id: usize, field: String) -> Result<Option<DateTime<Utc>>, AdfError> {
        let Some(text) = self.line(id) else {
            return Ok(None);
        };
        parse_datetime(&text).map(Some).ok_or_else(|| {
            AdfError::invalid(
                field,
                format!(
                    "`{}` is not an ISO 8601 date-time (2000-03-15T08:30:00-05:00, \
                     20000315T083000-0500 or 2000-03-15)",
                    quote(&text)
                ),
            )
        })
    }

    fn vehicle(
        &mut self,
        id: usize,
        path: &str,
        prospect: usize,
        index: usize,
    ) -> Result<LeadVehicle, AdfError> {
        let field = |name: &str| format!("prospects[{prospect}].vehicles[{index}].{name}");
        let mut vehicle = LeadVehicle::default();
        if let Some(interest) = self.attr(id, "interest") {
            vehicle.interest = parse_interest(interest).ok_or_else(|| {
                AdfError::invalid(
                    field("interest"),
                    format!(
                        "`{}` is not a vehicle interest (buy, lease, sell, trade-in or \
                         test-drive)",
                        quote(interest)
                    ),
                )
            })?;
        }
        // New or used is informative only: an unknown status (`demo`, `cpo`) is kept as the
        // extension `vehicle[i]/@status` rather than refusing the lead over it.
        vehicle.status = match self.attr(id, "status").map(str::to_lowercase).as_deref() {
            Some("new") => Some(VehicleCondition::New),
            Some("used") => Some(VehicleCondition::Used),
            _ => None,
        };
        let consumed: &[&str] = if vehicle.status.is_some() || self.attr(id, "status").is_none() {
            &["interest", "status"]
        } else {
            &["interest"]
        };
        self.extension_attrs(id, path, consumed)?;

        for (child, path) in self.children(id, path) {
            let consumed = match self.name(child) {
                "year" if vehicle.year.is_none() => match self.line(child) {
                    None => true,
                    Some(text) => {
                        vehicle.year = parse_year(&text).ok_or_else(|| {
                            AdfError::invalid(
                                field("year"),
                                format!("`{}` is not a four-digit model year", quote(&text)),
                            )
                        })?;
                        true
                    }
                },
                "make" => set_once(&mut vehicle.make, self.line(child)),
                "model" => set_once(&mut vehicle.model, self.line(child)),
                "trim" => set_once(&mut vehicle.trim, self.line(child)),
                "vin" => set_once(&mut vehicle.vin, self.line(child)),
                "stock" => set_once(&mut vehicle.stock, self.line(child)),
                "condition" => set_once(
                    &mut vehicle.condition,
                    self.line(child).map(|c| c.to_lowercase()),
                ),
                "comments" | "comment" => {
                    append(&mut vehicle.comments, self.text(child), "\n");
                    true
                }
                "odometer" if vehicle.mileage_km.is_none() => {
                    vehicle.mileage_km = self.odometer(child, field("mileage_km"))?;
                    self.extension_attrs(child, &path, &["units"])?;
                    continue;
                }
                "price" => {
                    if self.price(child, &mut vehicle, &field)? {
                        self.extension_attrs(child, &path, &["type", "currency"])?;
                        continue;
                    }
                    false
                }
                _ => false,
            };
            if consumed {
                self.extension_attrs(child, &path, &[])?;
            } else {
                self.extension_subtree(child, path)?;
            }
        }
        Ok(vehicle)
    }

    fn odometer(&self, id: usize, field: String) -> Result<Option<i64>, AdfError> {
        let Some(text) = self.line(id) else {
            return Ok(None);
        };
        // Without units, km: the unit of the markets this CRM serves.
        let km_per_unit = match self.attr(id, "units").map(str::to_lowercase).as_deref() {
            None | Some("km" | "kms" | "kilometer" | "kilometers" | "kilometre" | "kilometres") => {
                1.0
            }
            Some("mi" | "mile" | "miles") => 1.609_344,
            Some(other) => {
                return Err(AdfError::invalid(
                    field,
                    format!("`{}` is not an odometer unit (km or mi)", quote(other)),
                ));
            }
        };
        let value = parse_amount(&text).ok_or_else(|| {
            AdfError::invalid(
                field,
                format!("`{}` is not an odometer reading", quote(&text)),
            )
        })?;
        // `as` saturates on absurd values; it never panics.
        Ok(Some((value * km_per_unit).round() as i64))
    }

    /// Reads a `<price>` into the vehicle's price or appraisal; `false` when it is not taken
    /// (a second one of its kind, a relative price, an empty one, or another currency), and is
    /// then kept as an extension.
    fn price(
        &self,
        id: usize,
        vehicle: &mut LeadVehicle,
        field: &dyn Fn(&str) -> String,
    ) -> Result<bool, AdfError> {
        let is_appraisal = self
            .attr(id, "type")
            .is_some_and(|t| t.eq_ignore_ascii_case("appraisal"));
        let (slot, name) = if is_appraisal {
            (&mut vehicle.appraisal, "appraisal")
        } else {
            (&mut vehicle.price, "price")
        };
        let currency = self.attr(id, "currency").map(str::to_uppercase);
        let other_currency = matches!(
            (&vehicle.currency, &currency),
            (Some(a), Some(b)) if a != b
        );
        // `delta` makes the value relative to another price (2 = 2% over invoice): not an
        // amount, so not trusted as one.
        if slot.is_some() || other_currency || self.attr(id, "delta").is_some() {
            return Ok(false);
        }
        let Some(text) = self.line(id) else {
            return Ok(false);
        };
        let amount = parse_amount(&text).ok_or_else(|| {
            AdfError::invalid(field(name), format!("`{}` is not an amount", quote(&text)))
        })?;
        *slot = Some(amount);
        if vehicle.currency.is_none() {
            vehicle.currency = currency;
        }
        Ok(true)
    }

    fn customer(
        &mut self,
        id: usize,
        path: &str,
        prospect: usize,
    ) -> Result<(LeadCustomer, Option<Timeframe>), AdfError> {
        let mut customer = LeadCustomer::default();
        let mut parts = ContactParts::default();
        let mut contact_seen = false;
        let mut timeframe = None;
        let mut timeframe_seen = false;
        self.extension_attrs(id, path, &[])?;
        for (child, path) in self.children(id, path) {
            match self.name(child) {
                "contact" if !contact_seen => {
                    contact_seen = true;
                    self.extension_attrs(child, &path, &[])?;
                    for (item, item_path) in self.children(child, &path) {
                        if !self.contact_item(item, &item_path, &mut customer, &mut parts)? {
                            self.extension_subtree(item, item_path)?;
                        }
                    }
                }
                "comments" | "comment" => {
                    append(&mut customer.comments, self.text(child), "\n");
                    self.extension_attrs(child, &path, &[])?;
                }
                "timeframe" if !timeframe_seen => {
                    timeframe_seen = true;
                    timeframe = self.timeframe(child, &path, prospect)?;
                }
                // Some senders put the contact's elements straight under <customer>.
                _ => {
                    if !self.contact_item(child, &path, &mut customer, &mut parts)? {
                        self.extension_subtree(child, path)?;
                    }
                }
            }
        }
        // Preferred first; otherwise document order (the sorts are stable).
        parts.emails.sort_by_key(|(preferred, _)| !preferred);
        parts.phones.sort_by_key(|(preferred, _)| !preferred);
        customer.emails = parts.emails.into_iter().map(|(_, e)| e).collect();
        customer.phones = parts.phones.into_iter().map(|(_, p)| p).collect();
        Ok((customer, timeframe))
    }

    /// Reads one child of a customer contact; `false` when the model has no place for it.
    fn contact_item(
        &mut self,
        id: usize,
        path: &str,
        customer: &mut LeadCustomer,
        parts: &mut ContactParts,
    ) -> Result<bool, AdfError> {
        let consumed: &[&str] = match self.name(id) {
            "name" => {
                let Some(name) = self.line(id) else {
                    return Ok(true);
                };
                let business = self
                    .attr(id, "type")
                    .is_some_and(|t| t.eq_ignore_ascii_case("business"));
                let part = self.attr(id, "part").map(str::to_lowercase);
                let slot = match part.as_deref() {
                    _ if business => &mut customer.company_name,
                    // The DTD's default part is `full`.
                    None | Some("full") => &mut customer.full_name,
                    Some("first") => &mut customer.first_name,
                    Some("middle") => &mut customer.middle_name,
                    Some("last" | "surname") => &mut customer.last_name,
                    // `suffix` (spec prose) and anything else: kept as an extension.
                    Some(_) => return Ok(false),
                };
                append(slot, Some(name), " ");
                &["part", "type"]
            }
            "email" => {
                if let Some(email) = self.line(id) {
                    parts.emails.push((self.preferred(id), email));
                }
                &["preferredcontact"]
            }
            "phone" => {
                if let Some(number) = self.line(id) {
                    let kind = self.attr(id, "type").map(str::to_lowercase);
                    parts
                        .phones
                        .push((self.preferred(id), LeadPhone { number, kind }));
                }
                &["preferredcontact", "type"]
            }
            "address" if !parts.address_seen => {
                parts.address_seen = true;
                customer.address = self.address(id, path)?;
                return Ok(true);
            }
            // Activix's `locale`; `language` from other senders.
            "locale" | "language" if customer.language.is_none() => {
                customer.language = self.line(id);
                &[]
            }
            _ => return Ok(false),
        };
        self.extension_attrs(id, path, consumed)?;
        Ok(true)
    }

    fn preferred(&self, id: usize) -> bool {
        self.attr(id, "preferredcontact")
            .is_some_and(|p| matches!(p.to_lowercase().as_str(), "1" | "true" | "yes"))
    }

    fn address(&mut self, id: usize, path: &str) -> Result<Option<LeadAddress>, AdfError> {
        let mut address = LeadAddress::default();
        let mut streets = Vec::new();
        self.extension_attrs(id, path, &[])?;
        for (child, path) in self.children(id, path) {
            let consumed = match self.name(child) {
                "street" => {
                    if let Some(street) = self.line(child) {
                        let line = self
                            .attr(child, "line")
                            .and_then(|l| l.parse::<u32>().ok())
                            .unwrap_or(u32::MAX);
                        streets.push((line, street));
                    }
                    self.extension_attrs(child, &path, &["line"])?;
                    continue;
                }
                "apartment" => set_once(&mut address.apartment, self.line(child)),
                "city" => set_once(&mut address.city, self.line(child)),
                "regioncode" | "region" | "state" | "province" => {
                    set_once(&mut address.region, self.line(child))
                }
                "postalcode" | "postcode" | "zip" | "zipcode" => {
                    set_once(&mut address.postal_code, self.line(child))
                }
                "country" => set_once(
                    &mut address.country,
                    self.line(child).map(|c| c.to_uppercase()),
                ),
                _ => false,
            };
            if consumed {
                self.extension_attrs(child, &path, &[])?;
            } else {
                self.extension_subtree(child, path)?;
            }
        }
        streets.sort_by_key(|(line, _)| *line);
        address.street = streets.into_iter().map(|(_, s)| s).collect();
        Ok((address != LeadAddress::default()).then_some(address))
    }

    fn timeframe(
        &mut self,
        id: usize,
        path: &str,
        prospect: usize,
    ) -> Result<Option<Timeframe>, AdfError> {
        let field = |name: &str| format!("prospects[{prospect}].timeframe.{name}");
        let mut timeframe = Timeframe::default();
        self.extension_attrs(id, path, &[])?;
        for (child, path) in self.children(id, path) {
            let consumed = match self.name(child) {
                "description" => set_once(&mut timeframe.description, self.text(child)),
                "earliestdate" if timeframe.earliest.is_none() => {
                    timeframe.earliest = self.date(child, field("earliest"))?;
                    true
                }
                "latestdate" if timeframe.latest.is_none() => {
                    timeframe.latest = self.date(child, field("latest"))?;
                    true
                }
                _ => false,
            };
            if consumed {
                self.extension_attrs(child, &path, &[])?;
            } else {
                self.extension_subtree(child, path)?;
            }
        }
        // The DTD declares timeframe as text: `<timeframe>Within 1 month</timeframe>`.
        if timeframe.description.is_none() {
            timeframe.description = self.text(id);
        }
        Ok((timeframe != Timeframe::default()).then_some(timeframe))
    }

    fn vendor(&mut self, id: usize, path: &str) -> Result<Option<Vendor>, AdfError> {
        let mut vendor = Vendor::default();
        let mut contact_seen = false;
        // The contact's names name the dealer only when there is no <vendorname> (the
        // spec's minimal example); they are decided on at the end.
        let mut contact_names = Vec::new();
        self.extension_attrs(id, path, &[])?;
        for (child, path) in self.children(id, path) {
            match self.name(child) {
                "id" if vendor.id.is_none() => {
                    vendor.id = self.line(child);
                    self.extension_attrs(child, &path, &[])?;
                }
                "vendorname" if vendor.name.is_none() => {
                    vendor.name = self.line(child);
                    self.extension_attrs(child, &path, &[])?;
                }
                "contact" if !contact_seen => {
                    contact_seen = true;
                    self.extension_attrs(child, &path, &[])?;
                    for (item, item_path) in self.children(child, &path) {
                        if self.name(item) == "name" {
                            contact_names.push((item, item_path));
                        } else {
                            self.extension_subtree(item, item_path)?;
                        }
                    }
                }
                _ => self.extension_subtree(child, path)?,
            }
        }
        if vendor.name.is_none() {
            vendor.name = self.joined_names(contact_names)?;
        } else {
            for (item, item_path) in contact_names {
                self.extension_subtree(item, item_path)?;
            }
        }
        Ok((vendor != Vendor::default()).then_some(vendor))
    }

    /// One name out of `<name>` elements: the first `full` one (the DTD's default part) if
    /// there is one, else all the parts joined in document order. Names not used are kept as
    /// extensions.
    fn joined_names(&mut self, names: Vec<(usize, String)>) -> Result<Option<String>, AdfError> {
        let full = names.iter().position(|(id, _)| {
            self.line(*id).is_some()
                && self
                    .attr(*id, "part")
                    .is_none_or(|p| p.eq_ignore_ascii_case("full"))
        });
        let mut joined = None;
        for (k, (id, path)) in names.into_iter().enumerate() {
            if full.is_none_or(|f| f == k) {
                append(&mut joined, self.line(id), " ");
                self.extension_attrs(id, &path, &["part", "type"])?;
            } else {
                self.extension_subtree(id, path)?;
            }
        }
        Ok(joined)
    }

    fn provider(&mut self, id: usize, path: &str) -> Result<Option<Provider>, AdfError> {
        let mut provider = Provider::default();
        let mut names = Vec::new();
        self.extension_attrs(id, path, &[])?;
        for (child, path) in self.children(id, path) {
            let consumed = match self.name(child) {
                "name" => {
                    names.push((child, path));
                    continue;
                }
                "service" => set_once(&mut provider.service, self.line(child)),
                "url" => set_once(&mut provider.url, self.line(child)),
                "email" => set_once(&mut provider.email, self.line(child)),
                "phone" => set_once(&mut provider.phone, self.line(child)),
                // id, contact, and the Activix extras (form, referrer, campaign...).
                _ => false,
            };
            if consumed {
                self.extension_attrs(child, &path, &[])?;
            } else {
                self.extension_subtree(child, path)?;
            }
        }
        provider.name = self.joined_names(names)?;
        Ok((provider != Provider::default()).then_some(provider))
    }
}

/// Sets an optional field from a value if it is still empty; `false` when it was already set
/// (the element is then kept as an extension rather than lost). An empty value sets nothing.
fn set_once(slot: &mut Option<String>, value: Option<String>) -> bool {
    if slot.is_some() && value.is_some() {
        return false;
    }
    if slot.is_none() {
        *slot = value;
    }
    true
}

/// Appends a value to an optional field, with a separator when it already has one.
fn append(slot: &mut Option<String>, value: Option<String>, separator: &str) {
    let Some(value) = value else {
        return;
    };
    match slot {
        Some(existing) => {
            existing.push_str(separator);
            existing.push_str(&value);
        }
        None => *slot = Some(value),
    }
}

fn join_path(base: &str, segment: &str) -> String {
    if base.is_empty() {
        segment.to_owned()
    } else {
        format!("{base}/{segment}")
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// `buy`, `lease`, `sell`, `trade-in`, `test-drive`, in any case, with `-`, `_`, a space or
/// nothing between the words.
fn parse_interest(value: &str) -> Option<Interest> {
    let squeezed: String = value
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect::<String>()
        .to_lowercase();
    match squeezed.as_str() {
        "buy" => Some(Interest::Buy),
        "lease" => Some(Interest::Lease),
        "sell" => Some(Interest::Sell),
        "tradein" => Some(Interest::TradeIn),
        "testdrive" => Some(Interest::TestDrive),
        _ => None,
    }
}

/// A four-digit model year; `0`, which some senders write for "unknown", reads as absent.
/// `None` when it is not a year at all.
fn parse_year(text: &str) -> Option<Option<i32>> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match text.parse::<i32>().ok()? {
        0 => Some(None),
        year @ 1000..=9999 => Some(Some(year)),
        _ => None,
    }
}

/// An ISO 8601 date-time as ADF writes it: extended (`2000-03-15T08:30:00-05:00`) or basic
/// (`20000315T083000-0500`), with optional seconds and fraction, `Z` or an offset (`±hh`,
/// `±hhmm`, `±hh:mm`; none means UTC), a space for the `T`, or a date alone (midnight UTC).
fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if !text.is_ascii() {
        return None;
    }
    let b = text.as_bytes();
    let (date, mut rest) = if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        (ymd(&b[0..4], &b[5..7], &b[8..10])?, &b[10..])
    } else if b.len() >= 8 {
        (ymd(&b[0..4], &b[4..6], &b[6..8])?, &b[8..])
    } else {
        return None;
    };
    let Some((&separator, after)) = rest.split_first() else {
        return Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)));
    };
    if !matches!(separator, b'T' | b't' | b' ') {
        return None;
    }
    rest = after;

    let (hour, after) = two_digits(rest)?;
    rest = after.strip_prefix(b":").unwrap_or(after);
    let (minute, after) = two_digits(rest)?;
    rest = after;
    let (mut second, mut nano) = (0, 0);
    let seconds_follow = match rest {
        [b':', d, ..] | [d, ..] => d.is_ascii_digit(),
        [] => false,
    };
    if seconds_follow {
        rest = rest.strip_prefix(b":").unwrap_or(rest);
        let (s, after) = two_digits(rest)?;
        second = s;
        rest = after;
        if let Some(after) = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b",")) {
            let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            // Nanoseconds: the first nine digits, right-padded.
            for i in 0..9 {
                nano = nano * 10
                    + after
                        .get(i)
                        .filter(|_| i < digits)
                        .map_or(0, |d| u32::from(d - b'0'));
            }
            rest = &after[digits..];
        }
    }
    let naive = date.and_time(NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?);

    let rest = rest.trim_ascii_start();
    let offset_seconds = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), offset @ ..] => {
            let (hours, after) = two_digits(offset)?;
            let after = after.strip_prefix(b":").unwrap_or(after);
            let minutes = match after {
                [] => 0,
                _ => match two_digits(after)? {
                    (minutes, []) => minutes,
                    _ => return None,
                },
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let offset = FixedOffset::east_opt(offset_seconds)?;
    Some(
        offset
            .from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc),
    )
}

fn ymd(year: &[u8], month: &[u8], day: &[u8]) -> Option<NaiveDate> {
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(
        i32::try_from(number(year)?).ok()?,
        number(month)?,
        number(day)?,
    )
}

fn two_digits(b: &[u8]) -> Option<(u32, &[u8])> {
    match b {
        [tens, units, rest @ ..] if tens.is_ascii_digit() && units.is_ascii_digit() => {
            Some((u32::from(tens - b'0') * 10 + u32::from(units - b'0'), rest))
        }
        _ => None,
    }
}

/// An amount as people write them: `26995`, `26,995.00`, `26.995,00`, `26 995`, `$26,995`,
/// `€ 25.000,-`, `EUR 1.234,56`, `1'234.50`. Thousands separators must group by three, so
/// `1,5` is 1.5 and `1,500` is 1500, and anything else is refused rather than guessed.
/// Negative amounts are refused.
fn parse_amount(text: &str) -> Option<f64> {
    const SYMBOLS: &[char] = &['€', '$', '£', '¥'];
    let mut s = text.trim();
    // Dutch and Belgian "no cents": `25.000,-`.
    for suffix in [",--", ".--", ",-", ".-", ",–", ".–"] {
        if let Some(stripped) = s.strip_suffix(suffix) {
            s = stripped;
            break;
        }
    }
    // A currency symbol or a code of up to three letters, before or after the number.
    let trim = |s: &str| -> String {
        s.trim_matches(|c: char| c.is_whitespace() || SYMBOLS.contains(&c))
            .to_owned()
    };
    let mut s = trim(s);
    let leading = s.chars().take_while(char::is_ascii_alphabetic).count();
    if leading <= 3 {
        s = trim(&s[leading..]);
    }
    let trailing = s
        .chars()
        .rev()
        .take_while(char::is_ascii_alphabetic)
        .count();
    if trailing <= 3 {
        s = trim(&s[..s.len() - trailing]);
    }
    let cleaned: String = s
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '\'' | '’')))
        .collect();
    if !cleaned.bytes().any(|b| b.is_ascii_digit())
        || !cleaned
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }

    let (decimal, group) = match (cleaned.rfind('.'), cleaned.rfind(',')) {
        (Some(dot), Some(comma)) if dot > comma => (Some('.'), Some(',')),
        (Some(_), Some(_)) => (Some(','), Some('.')),
        (Some(_), None) => one_separator(&cleaned, '.'),
        (None, Some(_)) => one_separator(&cleaned, ','),
        (None, None) => (None, None),
    };
    let (integer, fraction) = match decimal {
        Some(d) => {
            let (integer, fraction) = cleaned.split_once(d)?;
            if fraction.contains(d) || group.is_some_and(|g| fraction.contains(g)) {
                return None;
            }
            (integer, fraction)
        }
        None => (cleaned.as_str(), ""),
    };
    let integer = match group {
        Some(g) => {
            let mut groups = integer.split(g);
            let first = groups.next()?;
            if first.is_empty() || first.len() > 3 {
                return None;
            }
            let mut joined = first.to_owned();
            for group in groups {
                if group.len() != 3 {
                    return None;
                }
                joined.push_str(group);
            }
            joined
        }
        None if integer.is_empty() => "0".to_owned(),
        None => integer.to_owned(),
    };
    format!("{integer}.{fraction}0")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// With a single kind of separator: several, or one followed by exactly three digits (and not
/// after a lone `0`), group thousands; otherwise it is the decimal separator.
fn one_separator(s: &str, separator: char) -> (Option<char>, Option<char>) {
    if s.matches(separator).count() > 1 {
        return (None, Some(separator));
    }
    match s.split_once(separator) {
        Some((before, after)) if after.len() == 3 && !before.is_empty() && before != "0" => {
            (None, Some(separator))
        }
        _ => (Some(separator), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn control_characters_are_refused_naming_the_element() {
        let refused = |body: &str| {
            let e = parse(body.as_bytes(), None).unwrap_err();
            assert_eq!(e.kind, AdfError::VALIDATION_ERROR, "{body}: {e}");
            assert!(!e.detail.contains('\0'), "{e}");
            e.field.unwrap()
        };
        let name = |text: &str| {
            format!(
                "<adf><prospect><customer><contact><name>{text}</name></contact></customer></prospect></adf>"
            )
        };
        for text in [
            "a&#0;b", "a&#x00;b", "a&#1;b", "a\u{0}b", "a\u{1b}b", "a\u{85}b",
        ] {
            assert_eq!(
                refused(&name(text)),
                "prospect/customer/contact/name",
                "{text:?}"
            );
        }
        assert_eq!(
            refused("<adf><prospect><id source=\"a&#0;\">1</id></prospect></adf>"),
            "prospect/id@source"
        );
        assert_eq!(
            refused("<adf><prospect><id source=\"a&#2;\">1</id></prospect></adf>"),
            "prospect/id@source"
        );
        assert_eq!(refused("<adf>\u{0}</adf>"), "adf");
        // Tabs and line ends (CR too, raw or as `&#13;`) are text like any other.
        assert!(parse(name("Jan\t&#13;\nPeeters").as_bytes(), None).is_ok());
    }

    #[test]
    fn amounts() {
        for (text, amount) in [
            ("26995", 26995.0),
            ("26995.5", 26995.5),
            ("26,995", 26995.0),
            ("26,995.50", 26995.5),
            ("26.995", 26995.0),
            ("26.995,50", 26995.5),
            ("1.234.567,89", 1_234_567.89),
            ("1,234,567", 1_234_567.0),
            ("1,5", 1.5),
            ("0,500", 0.5),
            ("0.995", 0.995),
            ("1.2345", 1.2345),
            ("12.50", 12.5),
            ("25.", 25.0),
            (".5", 0.5),
            ("26 995", 26995.0),
            ("26\u{a0}995,00", 26995.0),
            ("1'234.50", 1234.5),
            ("$26,995", 26995.0),
            ("€ 25.000,-", 25000.0),
            ("25.000,--", 25000.0),
            ("EUR 1.234,56", 1234.56),
            ("1234 EUR", 1234.0),
            ("CA$ 1,000", 1000.0),
            (" 42 ", 42.0),
        ] {
            assert_eq!(parse_amount(text), Some(amount), "{text}");
        }
        for text in [
            "",
            "-",
            "call",
            "-500",
            "1e5",
            "12,34,567",
            "1,2345,678",
            "1.234,567.89",
            "1..2",
            "1,,2",
            "EURO 5",
            "5 dollars",
            "NaN",
            "inf",
            "0x10",
            "١٢٣",
        ] {
            assert_eq!(parse_amount(text), None, "{text}");
        }
    }

    #[test]
    fn date_times() {
        for (text, expected) in [
            ("2000-03-15T08:30:00-05:00", "2000-03-15T13:30:00Z"),
            ("2000-03-15T08:30:00+05:30", "2000-03-15T03:00:00Z"),
            ("20000315T083000-0500", "2000-03-15T13:30:00Z"),
            ("20000315T083000+05", "2000-03-15T03:30:00Z"),
            ("2000-03-15T08:30:00Z", "2000-03-15T08:30:00Z"),
            ("2000-03-15T08:30:00", "2000-03-15T08:30:00Z"),
            ("2000-03-15 08:30:00 +01:00", "2000-03-15T07:30:00Z"),
            ("2000-03-15T08:30", "2000-03-15T08:30:00Z"),
            ("2000-03-15T08:30:00.250+00:00", "2000-03-15T08:30:00.250Z"),
            ("2000-03-15T08:30:00,5Z", "2000-03-15T08:30:00.500Z"),
            (
                "2000-03-15T08:30:00.1234567891Z",
                "2000-03-15T08:30:00.123456789Z",
            ),
            ("2000-03-15", "2000-03-15T00:00:00Z"),
            ("20000315", "2000-03-15T00:00:00Z"),
            (" 2000-03-15t08:30:00z ", "2000-03-15T08:30:00Z"),
            ("2000-12-31T23:30:00-01:00", "2001-01-01T00:30:00Z"),
        ] {
            assert_eq!(parse_datetime(text), Some(utc(expected)), "{text}");
        }
        for text in [
            "",
            "2000",
            "2000-3-15",
            "03/15/2000",
            "15.03.2000",
            "2000-02-30",
            "2000-13-01",
            "2000-03-15T",
            "2000-03-15T8:30",
            "2000-03-15T24:00:00",
            "2000-03-15T08:60:00",
            "2000-03-15T08:30:60",
            "2000-03-15T08:30:00.Z",
            "2000-03-15T08:30:00+24:00",
            "2000-03-15T08:30:00+05:3",
            "2000-03-15T08:30:00 EST",
            "2000-03-15T08:30:00+0500junk",
            "2000-03-15X08:30",
            "２０００-03-15",
        ] {
            assert_eq!(parse_datetime(text), None, "{text}");
        }
    }

    #[test]
    fn interests_and_years() {
        for (text, interest) in [
            ("buy", Interest::Buy),
            ("BUY", Interest::Buy),
            ("Lease", Interest::Lease),
            ("sell", Interest::Sell),
            ("trade-in", Interest::TradeIn),
            ("Trade-In", Interest::TradeIn),
            ("trade_in", Interest::TradeIn),
            ("tradein", Interest::TradeIn),
            ("test-drive", Interest::TestDrive),
            ("Test Drive", Interest::TestDrive),
        ] {
            assert_eq!(parse_interest(text), Some(interest), "{text}");
        }
        for text in ["", "rent", "buy!", "trade"] {
            assert_eq!(parse_interest(text), None, "{text}");
        }
        assert_eq!(parse_year("2024"), Some(Some(2024)));
        assert_eq!(parse_year("0"), Some(None));
        for text in [
            "",
            "99",
            "20245",
            "-2024",
            "+2024",
            "2024.0",
            "MMXXIV",
            "99999999999",
        ] {
            assert_eq!(parse_year(text), None, "{text}");
        }
    }

    #[test]
    fn xml_declaration_encodings() {
        let cases: [(&[u8], Option<&str>); 11] = [
            (
                b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><adf/>",
                Some("ISO-8859-1"),
            ),
            (b"<?xml version='1.0' encoding='utf-8'?>", Some("utf-8")),
            (
                b"<?XML VERSION=\"1.0\" ENCODING = \"latin1\"?>",
                Some("latin1"),
            ),
            (
                "<?ADF VERSION \"1.0\"?>\n<?XML VERSION “1.0” encoding=“cp1252”?>".as_bytes(),
                Some("cp1252"),
            ),
            (
                b"<?xml version=\"1.0\" encoding=\x93windows-1252\x94?>",
                Some("windows-1252"),
            ),
            (
                b"  <!-- hi --> <?xml version=\"1.0\" encoding=\"ascii\"?>",
                Some("ascii"),
            ),
            (b"<?xml version=\"1.0\"?><adf/>", None),
            (
                b"<adf><?xml version=\"1.0\" encoding=\"latin1\"?></adf>",
                None,
            ),
            (b"<?xml version=\"1.0\" encoding=\"\"?>", None),
            (b"<?>", None),
            (b"<?>?xml encoding=\"latin1\"?>", None),
        ];
        for (body, expected) in cases {
            assert_eq!(
                xml_declaration_encoding(body),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn repairs() {
        for (input, expected) in [
            // Well-formed input is left alone.
            (
                "<?xml version=\"1.0\"?><a b=\"1\" c='2'>t &amp; <![CDATA[<x>]]><!-- <y z=1> --></a>",
                "<?xml version=\"1.0\"?><a b=\"1\" c='2'>t &amp; <![CDATA[<x>]]><!-- <y z=1> --></a>",
            ),
            // The spec's prolog: the misplaced, typographic XML declaration goes.
            (
                "<?ADF VERSION \"1.0\"?>\n<?XML VERSION “1.0”?>\n<adf/>",
                "<?ADF VERSION \"1.0\"?>\n\n<adf/>",
            ),
            ("\n<?xml version=\"1.0\"?><adf/>", "\n<adf/>"),
            ("<?xml version=“1.0”?><adf/>", "<adf/>"),
            ("<? ?><?9?><adf/>", "<adf/>"),
            // Attributes.
            (
                "<id sequence=1 source=”Cobalt”>",
                "<id sequence=\"1\" source=\"Cobalt\">",
            ),
            ("<a b=“x y”/>", "<a b=\"x y\"/>"),
            ("<a b=1/>", "<a b=\"1\"/>"),
            ("<a b = 'it\"s' >", "<a b='it\"s'>"),
            (
                "<amount type=\"monthly” currency=”USD\">",
                "<amount type=\"monthly\" currency=\"USD\">",
            ),
            ("<a t=\"“quoted” word\">", "<a t=\"“quoted” word\">"),
            ("<a b=x\"y>", "<a b=\"x&quot;y\">"),
            (
                "<a u=\"?q=1&r=2&amp;s=&#51;\">",
                "<a u=\"?q=1&amp;r=2&amp;s=&#51;\">",
            ),
            ("<a b=\"1<2\">", "<a b=\"1&lt;2\">"),
            ("<a flag b=\"1\" =\"x\" \"c\">", "<a b=\"1\">"),
            // Text.
            ("<a>1 < 2</a>", "<a>1 &lt; 2</a>"),
            ("<a>x<</a>", "<a>x&lt;</a>"),
            // Truncated constructs stay truncated (the reader reports them).
            ("<a b=\"x", "<a b=\"x\""),
            ("<a b", "<a"),
            ("<!-- x", "<!-- x"),
        ] {
            assert_eq!(repair(input).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn references() {
        for text in ["&amp;", "&#1;", "&#x1F;", "&eacute;", "&a.b-c_d;"] {
            assert!(starts_reference(text.as_bytes()), "{text}");
        }
        for text in [
            "&", "& ", "&;", "&#;", "&#x;", "&#12a;", "&1a;", "&a b;", "&amp",
        ] {
            assert!(!starts_reference(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn dtd_scan() {
        assert!(refuse_dtd(b"<adf><!-- comment --><![CDATA[x]]></adf>").is_ok());
        for body in [
            &b"<!DOCTYPE adf>"[..],
            b"<!doctype adf>",
            b"<adf><!ENTITY x 'y'></adf>",
            b"<!ELEMENT adf (prospect+)>",
            b"<!AttList a b CDATA #IMPLIED>",
            b"<!NOTATION n SYSTEM 'x'>",
        ] {
            assert_eq!(refuse_dtd(body).unwrap_err().kind, AdfError::DTD_REFUSED);
        }
    }

    /// Inputs that once broke an assumption, or that probe one (the fuzzer's finds go here).
    #[test]
    fn fuzz_regressions() {
        for body in [
            // Fuzzer find: `<?>` made the encoding sniffer slice `[2..1]`.
            &b"<?>"[..],
            b"<?>?>",
            b"<?>?ADF versio\xde\xff\xff\xffn \x220.0\x22?>\x0a<?X\x9dquer\x0e\x00\x00\x00ospect>\x0a</aADF version \x221.0\x22?>\x0a<?X\x9d?>\x0a<adf>\x0a<pcsrpeot -03-30Tdf>\x0a",
            b"",
            b"\xEF\xBB\xBF",
            b"\xFF\xFE",
            b"\xFE\xFF\x00",
            b"<",
            b"<a",
            b"<adf",
            b"<adf ",
            b"<adf b=",
            b"<adf b=\xE2\x80",
            b"<adf b=\xE2\x80\x9C",
            b"<adf \xE2\x80\x9D=1/>",
            b"<adf\xE2\x80\x9C/>",
            b"<adf\xC3/>",
            b"<adf b='\xC3\xA9'/>",
            b"<\xE2\x80\x9C>",
            b"<?",
            b"<?xml",
            b"<?xml?>",
            b"<?xml encoding=",
            b"<!",
            b"</",
            b"</>",
            b"<adf></adf",
            b"<adf>&#0;</adf>",
            b"<adf>&#xD800;</adf>",
            b"<adf>&#x110000;</adf>",
            b"<adf>&#99999999999999999999;</adf>",
            b"<adf b=\"&#0;\"/>",
            b"<adf><prospect><requestdate>99999999T999999+9999</requestdate></prospect></adf>",
            b"<adf><prospect><requestdate>+0000-01-01</requestdate></prospect></adf>",
            b"<adf><prospect><vehicle><odometer units=\"mi\">99999999999999999999999999</odometer></vehicle></prospect></adf>",
            b"<adf><prospect><vehicle><price>999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999</price></vehicle></prospect></adf>",
        ] {
            // Ok or Err: what matters is coming back.
            let _ = parse(body, None);
        }
    }
}
