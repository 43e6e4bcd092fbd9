//! The files of lead-page documents (seed 001): signed orders, ID scans, registration papers.
//! Strict in what it trusts: only an allowlist of types is taken, the bytes must look like the
//! declared type, and the client's file name is reduced to a safe display name (it never
//! becomes a path: files are stored by id).

use forecourt_core::msg;
use forecourt_core::{Error, Result};
use poem::Request;

/// The stored kind of a document action.
pub const KIND: &str = "document";
pub(crate) const COLLECTION: &str = "documents";

/// Types a document may have, with the magic bytes its content must start with (`None`: text,
/// checked as UTF-8 instead).
const ALLOWED: &[(&str, Option<&[u8]>)] = &[
    ("application/pdf", Some(b"%PDF-")),
    ("image/jpeg", Some(b"\xFF\xD8\xFF")),
    ("image/png", Some(b"\x89PNG\r\n\x1a\n")),
    ("image/webp", Some(b"RIFF")),
    ("image/heic", None),
    // Office documents are ZIP containers.
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some(b"PK\x03\x04"),
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some(b"PK\x03\x04"),
    ),
    (
        "application/vnd.oasis.opendocument.text",
        Some(b"PK\x03\x04"),
    ),
    ("text/plain", None),
];

fn media_type(req: &Request) -> Option<String> {
    let v = req
        .headers()
        .get(poem::http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    Some(v.split(';').next()?.trim().to_ascii_lowercase())
}

/// The `filename` (or RFC 5987 `filename*`) parameter of a Content-Disposition value.
fn disposition_filename(v: &str) -> Option<String> {
    let mut plain = None;
    for part in v.split(';').map(str::trim) {
        let Some((k, val)) = part.split_once('=') else {
            continue;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "filename*" => {
                // charset'lang'percent-encoded; only UTF-8 is meaningful today.
                let encoded = val.trim().splitn(3, '\'').nth(2)?;
                return percent_decode(encoded);
            }
            "filename" => plain = Some(val.trim().trim_matches('"').to_string()),
            _ => {}
        }
    }
    plain
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A display name: the last path component, without control characters, at most 200 chars.
pub(crate) fn clean_filename(raw: &str) -> Result<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let name: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_string();
    if name.is_empty() || name == "." || name == ".." {
        return Err(Error::invalid(
            "filename",
            msg!("give the file name in `Content-Disposition: attachment; filename=\"...\"`"),
        ));
    }
    Ok(name)
}

/// Checks the type against the allowlist and the bytes against the type.
pub(crate) fn check_content(content_type: &str, bytes: &[u8]) -> Result<()> {
    let Some((_, magic)) = ALLOWED.iter().find(|(t, _)| *t == content_type) else {
        let allowed: Vec<&str> = ALLOWED.iter().map(|(t, _)| *t).collect();
        return Err(Error::UnsupportedMediaType {
            detail: msg!(
                "`{content_type}` is not accepted for documents; accepted: {allowed}",
                content_type,
                allowed = allowed.join(", ")
            ),
            field: Some("content_type".into()),
        });
    };
    if bytes.is_empty() {
        return Err(Error::invalid("file", msg!("the file is empty")));
    }
    let genuine = match (content_type, magic) {
        ("image/webp", Some(m)) => bytes.starts_with(m) && bytes.get(8..12) == Some(b"WEBP"),
        ("image/heic", _) => bytes.get(4..8) == Some(b"ftyp"),
        (_, Some(m)) => bytes.starts_with(m),
        (_, None) => std::str::from_utf8(bytes).is_ok(),
    };
    if genuine {
        Ok(())
    } else {
        Err(Error::Validation {
            kind: "content_mismatch",
            field: "file".into(),
            detail: msg!("the file's content is not {content_type}", content_type),
        })
    }
}

/// The file of an upload: the raw body, or the first file part of a multipart form.
pub(crate) async fn received(
    req: &Request,
    body: bytes::Bytes,
) -> Result<(String, String, bytes::Bytes)> {
    let media = media_type(req).unwrap_or_default();
    if media == "multipart/form-data" {
        let boundary = req
            .headers()
            .get(poem::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| multer::parse_boundary(v).ok())
            .ok_or_else(|| Error::BadRequest {
                detail: msg!("multipart body without a boundary"),
                field: Some("content_type".into()),
            })?;
        let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
        let mut form = multer::Multipart::new(stream, boundary);
        while let Some(field) = form.next_field().await.map_err(|e| {
            tracing::debug!(error = %e, "unreadable multipart body");
            Error::BadRequest {
                detail: msg!("the multipart body cannot be read: check its boundary and parts"),
                field: None,
            }
        })? {
            let Some(name) = field.file_name().map(str::to_string) else {
                continue;
            };
            let part_type = field
                .content_type()
                .map(|m| m.essence_str().to_ascii_lowercase())
                .unwrap_or_default();
            let bytes = field.bytes().await.map_err(|e| {
                tracing::debug!(error = %e, "unreadable multipart part");
                Error::BadRequest {
                    detail: msg!("the multipart body cannot be read: check its boundary and parts"),
                    field: None,
                }
            })?;
            return Ok((name, part_type, bytes));
        }
        return Err(Error::invalid("file", msg!("the form has no file part")));
    }
    let name = req
        .headers()
        .get(poem::http::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(disposition_filename)
        .unwrap_or_default();
    Ok((name, media, body))
}

/// The `Content-Disposition` of a download: the name both ASCII-safe and exact (RFC 6266).
pub(crate) fn attachment(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_their_paths_and_controls() {
        assert_eq!(clean_filename("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(
            clean_filename("C:\\Users\\a\\bon de commande.pdf").unwrap(),
            "bon de commande.pdf"
        );
        assert_eq!(clean_filename("a\u{0}b\r\n.pdf").unwrap(), "ab.pdf");
        assert!(clean_filename("..").is_err());
        assert!(clean_filename("").is_err());
    }

    #[test]
    fn disposition_names_plain_and_encoded() {
        assert_eq!(
            disposition_filename("attachment; filename=\"offre.pdf\"").as_deref(),
            Some("offre.pdf")
        );
        assert_eq!(
            disposition_filename(
                "attachment; filename=\"x.pdf\"; filename*=UTF-8''bestelbon%20%C3%A9.pdf"
            )
            .as_deref(),
            Some("bestelbon é.pdf")
        );
    }

    #[test]
    fn content_must_match_its_type() {
        assert!(check_content("application/pdf", b"%PDF-1.7 ...").is_ok());
        assert!(matches!(
            check_content("application/pdf", b"MZ\x90\0"),
            Err(Error::Validation {
                kind: "content_mismatch",
                ..
            })
        ));
        assert!(matches!(
            check_content("application/x-msdownload", b"MZ"),
            Err(Error::UnsupportedMediaType { .. })
        ));
        assert!(check_content("text/plain", "notes é".as_bytes()).is_ok());
        assert!(check_content("text/plain", b"\xff\xfe").is_err());
        assert!(check_content("image/webp", b"RIFF\0\0\0\0WEBPVP8 ").is_ok());
        assert!(check_content("image/png", b"").is_err());
    }
}
