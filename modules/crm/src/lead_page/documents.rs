//! Documents of the lead page (seed 001): signed orders, ID scans, registration papers. The
//! file goes to [`forecourt_core::storage::Storage`]; its metadata is an action of kind
//! `document` in `opportunity_actions`, so it shows in the Details tab like any other action.
//!
//! Strict in what it trusts: only an allowlist of types is taken, the bytes must look like the
//! declared type, and the client's file name is reduced to a safe display name (it never
//! becomes a path: files are stored by id).

use crate::{
    lead_page::actions,
    lead_page::entities::opportunity_action,
    opportunities::api::{Change, load, lock},
};
use chrono::{DateTime, Utc};
use forecourt_core::{
    App, Error, Result,
    access::Action,
    activity::Actor,
    context::TenantUser,
    http::{Created, List, TenantAuth},
    storage::StorageKey,
};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::Path,
    payload::{Binary, Json},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::sync::Arc;
use uuid::Uuid;

/// The stored kind of a document action.
pub const KIND: &str = "document";
const COLLECTION: &str = "documents";

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

/// A document as listed and answered after upload.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
pub struct Document {
    /// Document id; download it at `GET /opportunities/{id}/documents/{document_id}`.
    #[serde(skip)]
    pub id: Uuid,
    /// The file name shown to users (the client's name, without any path).
    pub filename: String,
    /// Its media type, one of the allowed types.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// SHA-256 of its content, hex.
    pub sha256: String,
    /// Who uploaded it.
    #[serde(skip)]
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// When.
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

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
fn clean_filename(raw: &str) -> Result<String> {
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
            "give the file name in `Content-Disposition: attachment; filename=\"...\"`",
        ));
    }
    Ok(name)
}

/// Checks the type against the allowlist and the bytes against the type.
fn check_content(content_type: &str, bytes: &[u8]) -> Result<()> {
    let Some((_, magic)) = ALLOWED.iter().find(|(t, _)| *t == content_type) else {
        let allowed: Vec<&str> = ALLOWED.iter().map(|(t, _)| *t).collect();
        return Err(Error::UnsupportedMediaType {
            detail: format!(
                "`{content_type}` is not accepted for documents; accepted: {}",
                allowed.join(", ")
            ),
            field: Some("content_type".into()),
        });
    };
    if bytes.is_empty() {
        return Err(Error::invalid("file", "the file is empty"));
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
            detail: format!("the file's content is not {content_type}"),
        })
    }
}

/// The file of an upload: the raw body, or the first file part of a multipart form.
async fn received(req: &Request, body: bytes::Bytes) -> Result<(String, String, bytes::Bytes)> {
    let media = media_type(req).unwrap_or_default();
    if media == "multipart/form-data" {
        let boundary = req
            .headers()
            .get(poem::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| multer::parse_boundary(v).ok())
            .ok_or_else(|| Error::BadRequest {
                detail: "multipart body without a boundary".into(),
                field: Some("content_type".into()),
            })?;
        let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
        let mut form = multer::Multipart::new(stream, boundary);
        while let Some(field) = form.next_field().await.map_err(|e| Error::BadRequest {
            detail: format!("malformed multipart body: {e}"),
            field: None,
        })? {
            let Some(name) = field.file_name().map(str::to_string) else {
                continue;
            };
            let part_type = field
                .content_type()
                .map(|m| m.essence_str().to_ascii_lowercase())
                .unwrap_or_default();
            let bytes = field.bytes().await.map_err(|e| Error::BadRequest {
                detail: format!("malformed multipart body: {e}"),
                field: None,
            })?;
            return Ok((name, part_type, bytes));
        }
        return Err(Error::invalid("file", "the form has no file part"));
    }
    let name = req
        .headers()
        .get(poem::http::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(disposition_filename)
        .unwrap_or_default();
    Ok((name, media, body))
}

async fn upload(
    app: &App,
    user: &TenantUser,
    opportunity_id: Uuid,
    req: &Request,
    body: bytes::Bytes,
) -> Result<Document> {
    let txn = forecourt_core::db::begin(&app.db).await?;
    // Access first: a caller who cannot reach the opportunity learns nothing about the file.
    // Documents stay allowed on a closed opportunity (signed orders arrive after the sale).
    let o = lock(app, &txn, user, opportunity_id, Change::Action(KIND)).await?;
    let (raw_name, content_type, bytes) = received(req, body).await?;
    let filename = clean_filename(&raw_name)?;
    check_content(&content_type, &bytes)?;
    let id = Uuid::now_v7();
    let now = app.clock.now();
    let doc = Document {
        id,
        filename,
        content_type,
        size: bytes.len() as i64,
        sha256: hex::encode(sha2::Sha256::digest(&bytes)),
        created_by: Some(user.user_id),
        created_at: now,
    };
    let data = serde_json::to_value(&doc).map_err(Error::internal)?;
    let key = StorageKey::tenant(o.tenant_id, COLLECTION, id);
    app.storage.put(&key, &bytes).await?;
    let stored = async {
        let actor = Actor::User(user);
        actions::insert_data(&txn, &o, KIND, id, data, actor, now).await?;
        txn.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = stored {
        // The metadata did not land: the file would be unreachable, so it goes too.
        if let Err(cleanup) = app.storage.delete(&key).await {
            tracing::warn!(error = %cleanup, "could not remove the file of a failed upload");
        }
        return Err(e);
    }
    Ok(doc)
}

fn view(row: opportunity_action::Model) -> Option<Document> {
    let mut d: Document = serde_json::from_value(row.data).ok()?;
    d.id = row.id;
    d.created_by = row.created_by;
    d.created_at = row.created_at;
    Some(d)
}

async fn documents(
    app: &App,
    user: &TenantUser,
    opportunity_id: Uuid,
    document_id: Option<Uuid>,
) -> Result<Vec<Document>> {
    let o = load(app, &app.db, user, opportunity_id, Action::Read).await?;
    let mut q = opportunity_action::Entity::find()
        .filter(opportunity_action::Column::TenantId.eq(o.tenant_id))
        .filter(opportunity_action::Column::OpportunityId.eq(o.id))
        .filter(opportunity_action::Column::Kind.eq(KIND));
    if let Some(d) = document_id {
        q = q.filter(opportunity_action::Column::Id.eq(d));
    }
    let rows = q
        .order_by_desc(opportunity_action::Column::Id)
        .all(&app.db)
        .await?;
    Ok(rows.into_iter().filter_map(view).collect())
}

/// A document's content.
#[derive(ApiResponse)]
pub enum Download {
    /// The file, with its type and name.
    #[oai(status = 200)]
    File(
        Binary<Vec<u8>>,
        #[oai(header = "content-type")] String,
        #[oai(header = "content-disposition")] String,
        #[oai(header = "x-content-type-options")] String,
    ),
}

/// Documents of the lead page.
pub struct DocumentsApi;

#[derive(poem_openapi::Tags)]
enum ApiTags {
    /// The lead page: what happened on an opportunity.
    LeadPage,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::LeadPage")]
impl DocumentsApi {
    /// Upload a document
    ///
    /// The raw file is the body, with its `Content-Type` and
    /// `Content-Disposition: attachment; filename="..."`; a `multipart/form-data` form with one
    /// file part is accepted too. Accepted types: PDF, JPEG, PNG, WebP, HEIC, Word (docx),
    /// Excel (xlsx), OpenDocument text and plain text; the content must match the type (422
    /// `content_mismatch`), another type answers 415. Up to `max_upload_bytes` (20 MiB by
    /// default; 413 beyond). Needs write access to the opportunity.
    #[oai(path = "/opportunities/:id/documents", method = "post")]
    async fn upload(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        req: &Request,
        body: Binary<bytes::Bytes>,
    ) -> poem::Result<Created<Document>> {
        let doc = upload(&app, &auth.0, id.0, req, body.0).await?;
        Ok(Created::Created(Json(doc)))
    }

    /// List the documents of an opportunity, newest first.
    #[oai(path = "/opportunities/:id/documents", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<List<Document>>> {
        let items = documents(&app, &auth.0, id.0, None).await?;
        Ok(Json(List {
            items,
            next_cursor: None,
        }))
    }

    /// Download a document
    ///
    /// Answers the file with its type, as an attachment under its name.
    #[oai(path = "/opportunities/:id/documents/:document_id", method = "get")]
    async fn download(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        document_id: Path<Uuid>,
    ) -> poem::Result<Download> {
        let doc = documents(&app, &auth.0, id.0, Some(document_id.0))
            .await?
            .into_iter()
            .next()
            .ok_or(Error::NotFound("document"))?;
        let key = StorageKey::tenant(auth.0.tenant_id, COLLECTION, doc.id);
        let bytes = app.storage.get(&key).await?.ok_or_else(|| {
            tracing::error!(document = %doc.id, "document metadata without its file");
            Error::NotFound("document")
        })?;
        // The name travels both ASCII-safe and exact (RFC 6266).
        let ascii: String = doc
            .filename
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let exact: String = doc
            .filename
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        Ok(Download::File(
            Binary(bytes),
            doc.content_type,
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}"),
            "nosniff".into(),
        ))
    }
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
