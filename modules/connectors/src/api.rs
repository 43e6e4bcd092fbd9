//! `/api/v1/connectors` (configuration and delivery log) and `/inbound/{connector_id}/leads`
//! (where partners push leads).

use crate::{
    deliveries::{self, DeliveryDetail, DeliveryView, Filter},
    entities::connector,
    inbound::{self, Answer, DeliveryReport, InboundProblem, Incoming},
    lead::LeadDocument,
    service::{self, Changes, NewConnector},
    signature::{self, SignatureHeaders},
};
use chrono::{DateTime, Utc};
use forecourt_core::{
    App, Error,
    access::Action,
    activity::{self, Actor},
    http::{Created, JsonBody, List, RequestId, TenantAuth, fetch_page},
};
use poem::{Request, http::StatusCode, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Header, Path, Query},
    payload::Json,
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
    types::{MaybeUndefined, Type},
};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// The permission object of the configuration and the log.
const OBJECT: &str = "settings.connectors";

#[derive(Tags)]
enum ApiTags {
    /// Partners' connectors: configuration, secrets and the delivery log (Expert).
    Connectors,
    /// Where partners push leads, signed per Standard Webhooks.
    InboundLeads,
}

/// A connector: where a partner's leads land. Its secret is shown only on creation and
/// rotation.
#[derive(Object, Debug)]
pub struct ConnectorView {
    /// Connector id; part of the inbound path.
    pub id: Uuid,
    /// The partner (AutoScout24, 2dehands, Gocar, mobile.de, Facebook, Website...).
    pub partner: String,
    /// A name for the dealer's staff.
    pub name: String,
    /// The establishment its leads (and new contacts) belong to.
    #[oai(nullable)]
    pub establishment_id: Option<Uuid>,
    /// The lead source its leads get.
    #[oai(nullable)]
    pub source_id: Option<Uuid>,
    /// Disabled connectors answer 403 `connector_disabled` (the delivery is still logged).
    pub enabled: bool,
    /// Where the partner posts: `POST {inbound_path}`.
    pub inbound_path: String,
    /// The same, as an absolute URL on this server's public address.
    pub inbound_url: String,
    /// After a rotation: until when the previous secret is still accepted.
    #[oai(nullable)]
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    /// Who created it.
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

fn view(app: &App, c: connector::Model) -> ConnectorView {
    let now = app.clock.now();
    let path = format!("/inbound/{}/leads", c.id);
    ConnectorView {
        id: c.id,
        partner: c.partner,
        name: c.name,
        establishment_id: c.establishment_id,
        source_id: c.source_id,
        enabled: c.enabled,
        inbound_url: format!("{}{path}", app.config.public_url.trim_end_matches('/')),
        inbound_path: path,
        previous_secret_valid_until: c.previous_secret_until.filter(|u| *u > now),
        created_by: c.created_by,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// A new connector and its secret, shown this once.
#[derive(Object, Debug)]
pub struct CreatedConnector {
    #[oai(flatten)]
    pub connector: ConnectorView,
    /// `whsec_<base64>`: give it to the partner now; it is never shown again (rotate it to get
    /// a new one). The HMAC key is its base64-decoded part.
    pub secret: String,
}

/// A connector to create.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewConnectorBody {
    /// The partner, free text (1 to 100 characters).
    #[oai(validator(max_length = 100))]
    pub partner: String,
    /// A name for the dealer's staff (1 to 100 characters).
    #[oai(validator(max_length = 100))]
    pub name: String,
    /// The establishment its leads belong to.
    pub establishment_id: Option<Uuid>,
    /// The lead source its leads get; absent: the source named after the partner (any
    /// case), created when the tenant has none.
    pub source_id: Option<Uuid>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// Changes to a connector (the partner is fixed: create another connector for another one).
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ConnectorPatch {
    /// New name.
    #[oai(validator(max_length = 100))]
    pub name: Option<String>,
    /// New establishment; `null` for none.
    #[serde(default)]
    pub establishment_id: MaybeUndefined<Uuid>,
    /// New lead source; `null` for the source named after the partner.
    #[serde(default)]
    pub source_id: MaybeUndefined<Uuid>,
    /// Accept deliveries or not.
    pub enabled: Option<bool>,
}

fn maybe(v: &MaybeUndefined<Uuid>) -> Option<Option<Uuid>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(id) => Some(Some(*id)),
    }
}

/// A new secret.
#[derive(Object, Debug)]
pub struct RotatedSecret {
    /// The new `whsec_<base64>` secret, shown this once.
    pub secret: String,
    /// Until when deliveries signed with the previous secret are still accepted (24 hours).
    pub previous_valid_until: DateTime<Utc>,
}

/// The answer to a delivery (or a replay).
#[derive(ApiResponse)]
pub enum InboundAnswer {
    /// At least one prospect was created, merged or already known: `{delivery_id, outcome,
    /// results}`, one result per prospect.
    #[oai(status = 202)]
    Accepted(Json<DeliveryReport>),
    /// Refused, as `application/problem+json` with `delivery_id`: 401 `invalid_signature`,
    /// 403 `tenant_suspended` / `module_not_licensed` / `module_disabled` /
    /// `connector_disabled`, 415 `unsupported_media_type`, 422 for a body that cannot be read
    /// (the parser's `type` and `field`) or `lead_rejected` when every prospect was rejected
    /// (with `results`).
    #[oai(content_type = "application/problem+json")]
    Refused(StatusCode, Json<InboundProblem>),
}

impl From<Answer> for InboundAnswer {
    fn from(a: Answer) -> Self {
        match a {
            Answer::Accepted(r) => InboundAnswer::Accepted(Json(r)),
            Answer::Refused(p) => refused(p),
        }
    }
}

fn refused(p: InboundProblem) -> InboundAnswer {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    InboundAnswer::Refused(status, Json(p))
}

fn request_id(req: &Request) -> Option<String> {
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
        let c = service::for_inbound(&app.db, id).await?;
        let rid = request_id(req);
        let content_type = req.content_type();
        let headers = SignatureHeaders {
            id: webhook_id.0.as_deref(),
            timestamp: webhook_timestamp.0.as_deref(),
            signature: webhook_signature.0.as_deref(),
        };
        let now = app.clock.now();
        let verified = match signature::verify(headers, &body.0, now, &service::keys(&c, now)) {
            Ok(id) => id.to_string(),
            Err(detail) => {
                let p = inbound::refuse_unsigned(
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
        let answer = inbound::receive(
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

/// Partners' connectors.
pub struct ConnectorsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Connectors")]
impl ConnectorsApi {
    /// List connectors
    ///
    /// Needs `settings.connectors`/`read`. Never shows secrets.
    #[oai(path = "/connectors", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<ConnectorView>>> {
        app.authz.require(&auth.0, OBJECT, Action::Read).await?;
        let page = fetch_page(
            &app.db,
            service::scoped(auth.tenant_id()),
            connector::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        Ok(Json(page.map(|c| view(&app, c))))
    }

    /// Create a connector
    ///
    /// Needs `settings.connectors`/`write`. Answers the connector with its `secret`, shown
    /// only here (and on rotation). Without `source_id`, the lead source named after the
    /// partner (any case) is used, created when missing. 422 naming `partner`, `name`,
    /// `establishment_id` or `source_id` (another tenant's, unknown or deactivated).
    #[oai(path = "/connectors", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewConnectorBody>,
    ) -> poem::Result<Created<CreatedConnector>> {
        app.authz.require(&auth.0, OBJECT, Action::Write).await?;
        let now = app.clock.now();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let c = service::create(
            &txn,
            auth.tenant_id(),
            Actor::User(&auth.0),
            NewConnector {
                partner: &body.partner,
                name: &body.name,
                establishment_id: body.establishment_id,
                source_id: body.source_id,
                enabled: body.enabled.unwrap_or(true),
            },
            now,
        )
        .await?;
        activity::record(
            &txn,
            c.tenant_id,
            Actor::User(&auth.0),
            now,
            "connector",
            c.id,
            "created",
            service::snapshot(&c),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        let secret = c.secret.clone();
        Ok(Created::Created(Json(CreatedConnector {
            connector: view(&app, c),
            secret,
        })))
    }

    /// Get a connector
    ///
    /// Needs `settings.connectors`/`read`. Never shows the secret.
    #[oai(path = "/connectors/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<ConnectorView>> {
        app.authz.require(&auth.0, OBJECT, Action::Read).await?;
        let c = service::get(&app.db, auth.tenant_id(), id.0).await?;
        Ok(Json(view(&app, c)))
    }

    /// Change a connector
    ///
    /// Needs `settings.connectors`/`write`. A disabled connector refuses deliveries with 403
    /// `connector_disabled` (they are logged and can be replayed once it is enabled again).
    #[oai(path = "/connectors/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<ConnectorPatch>,
    ) -> poem::Result<Json<ConnectorView>> {
        app.authz.require(&auth.0, OBJECT, Action::Write).await?;
        let now = app.clock.now();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let current = service::get(&txn, auth.tenant_id(), id.0).await?;
        let before = service::snapshot(&current);
        let c = service::update(
            &txn,
            current,
            Actor::User(&auth.0),
            Changes {
                name: body.name.as_deref(),
                establishment_id: maybe(&body.establishment_id),
                source_id: maybe(&body.source_id),
                enabled: body.enabled,
            },
            now,
        )
        .await?;
        activity::record(
            &txn,
            c.tenant_id,
            Actor::User(&auth.0),
            now,
            "connector",
            c.id,
            "updated",
            activity::diff(&before, &service::snapshot(&c)),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Json(view(&app, c)))
    }

    /// Rotate a connector's secret
    ///
    /// Needs `settings.connectors`/`write`. Answers the new secret, shown this once; the
    /// previous one is still accepted for 24 hours so the partner can switch without losing
    /// a lead. Rotating again within that time ends the older secret's grace at once.
    #[oai(path = "/connectors/:id/rotate-secret", method = "post")]
    async fn rotate(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<RotatedSecret>> {
        app.authz.require(&auth.0, OBJECT, Action::Write).await?;
        let now = app.clock.now();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let current = service::get(&txn, auth.tenant_id(), id.0).await?;
        let c = service::rotate(&txn, current, now).await?;
        let until = c.previous_secret_until.unwrap_or(now);
        activity::record(
            &txn,
            c.tenant_id,
            Actor::User(&auth.0),
            now,
            "connector",
            c.id,
            "secret_rotated",
            json!({"previous_valid_until": until}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Json(RotatedSecret {
            secret: c.secret,
            previous_valid_until: until,
        }))
    }

    /// List a connector's deliveries
    ///
    /// Needs `settings.connectors`/`read`. Newest first. Filters: `outcome` (`accepted`,
    /// `partial`, `duplicate`, `rejected`, `received`), `from` and `to` (RFC 3339 instants,
    /// or days `YYYY-MM-DD`: `from` at 00:00 UTC, `to` through the end of that day). 422
    /// naming the parameter for a bad value.
    #[oai(path = "/connectors/:id/deliveries", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn deliveries(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        outcome: Query<Option<String>>,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<DeliveryView>>> {
        app.authz.require(&auth.0, OBJECT, Action::Read).await?;
        let filter = Filter::parse(outcome.0.as_deref(), from.0.as_deref(), to.0.as_deref())?;
        let c = service::get(&app.db, auth.tenant_id(), id.0).await?;
        let page = deliveries::list(
            &app.db,
            c.tenant_id,
            c.id,
            &filter,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        Ok(Json(page))
    }

    /// Get a delivery
    ///
    /// Needs `settings.connectors`/`read`. With the raw body (as text when it is valid UTF-8,
    /// else base64; absent when the signature check failed), the problem answered and the
    /// result of each prospect.
    #[oai(path = "/connectors/:id/deliveries/:delivery_id", method = "get")]
    async fn delivery(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> poem::Result<Json<DeliveryDetail>> {
        app.authz.require(&auth.0, OBJECT, Action::Read).await?;
        let c = service::get(&app.db, auth.tenant_id(), id.0).await?;
        let d = deliveries::get(&app.db, c.tenant_id, c.id, delivery_id.0).await?;
        Ok(Json(d.into()))
    }

    /// Replay a delivery
    ///
    /// Needs `settings.connectors`/`write`. Re-processes the stored body with the connector's
    /// current configuration (no signature check: it was verified on receipt), as a new
    /// delivery with `replay_of`, and answers like the inbound endpoint. Only deliveries
    /// that were `rejected` or `partial` (or whose processing was interrupted) and whose body
    /// is kept can be replayed: 409 `not_replayable` otherwise. Prospects that landed before
    /// answer `duplicate`.
    #[oai(
        path = "/connectors/:id/deliveries/:delivery_id/replay",
        method = "post"
    )]
    async fn replay(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        req: &Request,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> poem::Result<InboundAnswer> {
        app.authz.require(&auth.0, OBJECT, Action::Write).await?;
        let c = service::get(&app.db, auth.tenant_id(), id.0).await?;
        let original = deliveries::get(&app.db, c.tenant_id, c.id, delivery_id.0).await?;
        let body = match (&original.body, deliveries::replayable(&original)) {
            (Some(body), true) => body.clone(),
            (None, _) => {
                return Err(Error::conflict(
                    "not_replayable",
                    "this delivery failed the signature check, so its body was not kept",
                )
                .into());
            }
            (Some(_), false) => {
                return Err(Error::conflict(
                    "not_replayable",
                    format!(
                        "only rejected or partial deliveries can be replayed; this one is `{}`",
                        original.outcome
                    ),
                )
                .into());
            }
        };
        let answer = inbound::receive(
            &app,
            Incoming {
                connector: &c,
                webhook_id: original.webhook_id.clone(),
                content_type: original.content_type.clone(),
                body: &body,
                replay_of: Some(original.id),
                request_id: request_id(req),
            },
        )
        .await?;
        let replay_id = match &answer {
            Answer::Accepted(r) => Some(r.delivery_id),
            Answer::Refused(p) => p.delivery_id,
        };
        activity::record(
            &app.db,
            c.tenant_id,
            Actor::User(&auth.0),
            app.clock.now(),
            "connector",
            c.id,
            "delivery_replayed",
            json!({"delivery_id": original.id, "replay_id": replay_id}),
        )
        .await?;
        Ok(answer.into())
    }
}
