//! `/inbound/{connector_id}/leads`: where partners push leads.

use super::{
    service::{self, Incoming},
    views::{InboundAnswer, refused},
};
use crate::{
    connectors::{api::ApiTags, service as connectors},
    lead::LeadDocument,
    signature::{self, SignatureHeaders},
};
use forecourt_core::{App, Error, http::RequestId};
use poem::{Request, web::Data};
use poem_openapi::{
    OpenApi,
    param::{Header, Path},
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
    types::Type,
};
use std::sync::Arc;
use uuid::Uuid;

/// The request's id, quoted in the problems a delivery is answered.
pub fn request_id(req: &Request) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// The raw body of a delivery, whatever its type: the handler picks the parser by
/// `Content-Type` and keeps the exact bytes (they are signed, and logged).
pub struct LeadBody(pub bytes::Bytes);

impl<'a> poem_openapi::ApiExtractor<'a> for LeadBody {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        LeadDocument::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        let xml =
            || MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary")));
        Some(MetaRequest {
            description: Some(
                "An ADF 1.0 document (`application/xml`, `text/xml`, `application/x-adf+xml` or \
                 any `+xml` type; the `charset` parameter is honoured when the document does not \
                 declare its encoding) or the JSON lead format (`application/json`).",
            ),
            content: vec![
                MetaMediaType {
                    content_type: "application/json",
                    schema: LeadDocument::schema_ref(),
                },
                MetaMediaType {
                    content_type: "application/xml",
                    schema: xml(),
                },
                MetaMediaType {
                    content_type: "text/xml",
                    schema: xml(),
                },
            ],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut poem::RequestBody,
        _opts: poem_openapi::ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        use poem::FromRequest;
        Ok(Self(
            <bytes::Bytes as FromRequest>::from_request(request, body).await?,
        ))
    }
}

/// Where partners push leads.
pub struct InboundApi;

#[OpenApi(tag = "ApiTags::InboundLeads")]
impl InboundApi {
    /// Push leads
    ///
    /// For partners; no bearer token: the delivery is authenticated by its Standard Webhooks
    /// signature. `webhook-id` is a unique id of the delivery (resend it unchanged when
    /// retrying), `webhook-timestamp` the Unix time in seconds of sending (at most 5 minutes
    /// from the server's clock either way), `webhook-signature` one or more space-separated
    /// `v1,<base64>` entries, each an HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`
    /// keyed by the base64-decoded part of the connector's `whsec_` secret; any matching entry
    /// passes. During the 24 hours after a rotation the previous secret is accepted too.
    ///
    /// The body is ADF/XML or the JSON lead format, by `Content-Type` (415 otherwise), up to
    /// the server's body limit (413 beyond). Each prospect lands on its own: matched to a
    /// contact by email then phone, merged into the contact's open opportunity or opened as a
    /// new one with the connector's source. Delivery is at-least-once: the same lead (its
    /// first `id@source`, or the same `webhook-id` for a lead without id) answers `duplicate`
    /// with the ids it landed on the first time.
    ///
    /// 202 `{delivery_id, outcome, results}` when at least one prospect was created, merged
    /// or a duplicate; 422 `lead_rejected` with `results` when every prospect was rejected
    /// (blocked contact, no usable email or phone...). 404 for an unknown connector. Every
    /// delivery is logged; refused ones can be replayed by the dealer once the cause is fixed.
    #[oai(path = "/inbound/:connector_id/leads", method = "post")]
    #[allow(clippy::too_many_arguments)]
    async fn receive(
        &self,
        app: Data<&Arc<App>>,
        req: &Request,
        /// The connector id.
        connector_id: Path<String>,
        /// A unique id of the delivery.
        #[oai(name = "webhook-id")]
        webhook_id: Header<Option<String>>,
        /// Unix time of sending, in seconds.
        #[oai(name = "webhook-timestamp")]
        webhook_timestamp: Header<Option<String>>,
        /// `v1,<base64 HMAC-SHA256>`, space-separated when several.
        #[oai(name = "webhook-signature")]
        webhook_signature: Header<Option<String>>,
        body: LeadBody,
    ) -> poem::Result<InboundAnswer> {
        let id = Uuid::parse_str(&connector_id.0).map_err(|_| Error::NotFound("connector"))?;
        let c = connectors::for_inbound(&app.db, id).await?;
        let rid = request_id(req);
        let content_type = req.content_type();
        let headers = SignatureHeaders {
            id: webhook_id.0.as_deref(),
            timestamp: webhook_timestamp.0.as_deref(),
            signature: webhook_signature.0.as_deref(),
        };
        let now = app.clock.now();
        let verified = match signature::verify(headers, &body.0, now, &connectors::keys(&c, now)) {
            Ok(id) => id.to_string(),
            Err(detail) => {
                let p = service::refuse_unsigned(
                    &app,
                    &c,
                    headers.id,
                    content_type,
                    &body.0,
                    detail,
                    rid.as_deref(),
                )
                .await?;
                return Ok(refused(p));
            }
        };
        let answer = service::receive(
            &app,
            Incoming {
                connector: &c,
                webhook_id: Some(verified),
                content_type: content_type.map(str::to_string),
                body: &body.0,
                replay_of: None,
                request_id: rid,
            },
        )
        .await?;
        Ok(answer.into())
    }
}
