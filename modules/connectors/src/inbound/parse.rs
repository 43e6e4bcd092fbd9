//! Which format a body is in, and reading it into the one lead document intake processes.

use crate::{adf, lead::LeadDocument};
use forecourt_core::{Result, error::Problem, http::parse_body};

/// The body formats a connector reads.
#[derive(Debug, PartialEq, Eq)]
pub enum Format {
    /// ADF/XML, with the charset of the `Content-Type`, if any.
    Adf(Option<String>),
    /// Our JSON lead format ([`LeadDocument`]).
    Json,
}

/// The format a `Content-Type` announces, or `None` (415).
pub fn format_of(content_type: Option<&str>) -> Option<Format> {
    let mut parts = content_type?.split(';');
    let media = parts.next()?.trim().to_ascii_lowercase();
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    });
    match media.as_str() {
        "application/xml" | "text/xml" => Some(Format::Adf(charset)),
        m if m.ends_with("+xml") => Some(Format::Adf(charset)),
        "application/json" => Some(Format::Json),
        m if m.ends_with("+json") => Some(Format::Json),
        _ => None,
    }
}

/// Parses a body by its content type: 415 for a type we do not read, 422 naming the problem
/// (and the field, when there is one) for a body we cannot use.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<LeadDocument, Box<Problem>> {
    let problem = |status: u16, kind: &str, title: &str, detail: String, field: Option<String>| {
        Box::new(Problem {
            kind: kind.into(),
            title: title.into(),
            status,
            detail,
            field,
            extra: None,
            request_id: None,
        })
    };
    let doc = match format_of(content_type) {
        None => {
            return Err(problem(
                415,
                "unsupported_media_type",
                "Unsupported media type",
                format!(
                    "`{}` is not a lead format; send ADF as `application/xml` (or `text/xml`, \
                     `application/x-adf+xml`) or the JSON lead format as `application/json`",
                    content_type.unwrap_or("(no Content-Type)")
                ),
                Some("content-type".into()),
            ));
        }
        Some(Format::Adf(charset)) => adf::parse(body, charset.as_deref())
            .map_err(|e| problem(422, e.kind, "Invalid lead", e.detail, e.field))?,
        Some(Format::Json) => match parse_body::<LeadDocument>(body) {
            Ok(doc) => doc,
            // Partners read English: the delivery log keeps the problem as it was answered.
            Err(e) if !e.field_errors().is_empty() => {
                let mut p = e.problem();
                p.title = "Invalid lead".into();
                return Err(Box::new(p));
            }
            Err(e) => {
                return Err(problem(
                    422,
                    "malformed_json",
                    "Invalid lead",
                    e.to_string(),
                    None,
                ));
            }
        },
    };
    if doc.prospects.is_empty() {
        return Err(problem(
            422,
            "no_prospect",
            "Invalid lead",
            "the document holds no prospect".into(),
            Some("prospects".into()),
        ));
    }
    if doc.prospects.len() > adf::MAX_PROSPECTS {
        return Err(problem(
            422,
            "too_large",
            "Invalid lead",
            format!(
                "at most {} prospects per delivery; send the others separately",
                adf::MAX_PROSPECTS
            ),
            Some("prospects".into()),
        ));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_pick_the_format() {
        assert_eq!(
            format_of(Some("application/xml; charset=\"ISO-8859-1\"")),
            Some(Format::Adf(Some("ISO-8859-1".into())))
        );
        assert_eq!(format_of(Some("Text/XML")), Some(Format::Adf(None)));
        assert_eq!(
            format_of(Some("application/x-adf+xml")),
            Some(Format::Adf(None))
        );
        assert_eq!(
            format_of(Some("application/json; charset=utf-8")),
            Some(Format::Json)
        );
        assert_eq!(format_of(Some("text/plain")), None);
        assert_eq!(format_of(None), None);
    }
}
