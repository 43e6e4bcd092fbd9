//! `/api/v1/contacts/{id}/consents`: append-only, so only GET and POST exist (any other
//! method answers 405).

use crate::{
    entities::consent,
    service::{self, Channel, NewEvent},
};
use chrono::{DateTime, Utc};
use forecourt_core::{
    App, Error, Result,
    access::Action,
    http::{Created, JsonBody, TenantAuth},
    uow::{Activity, Uow},
};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, Tags, param::Path, payload::Json};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// The permission object that guards consents.
pub const OBJECT: &str = "contacts.consents";

#[derive(Tags)]
enum ApiTags {
    /// Marketing opt-ins per channel and sender, with their full history.
    Consents,
}

/// A consent to record: a grant or a withdrawal. The user who records it and the time are set
/// by the server.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    /// The channel: `email`, `sms`, `phone`, `post` or `whatsapp`.
    pub channel: Channel,
    /// Who may send: the id of one of the tenant's companies, or a brand name (1 to 100
    /// characters, trimmed). A UUID that is not one of the tenant's companies is refused.
    #[oai(validator(max_length = 254))]
    pub sender: String,
    /// `true` to grant, `false` to withdraw.
    pub granted: bool,
    /// Where the consent was collected, e.g. "showroom form", "website" (1 to 200 characters).
    #[oai(validator(max_length = 200))]
    pub source: String,
    /// Evidence of the consent: a form reference, a signed document's name, a web submission
    /// (at most 2000 characters).
    #[serde(default)]
    #[oai(validator(max_length = 2000))]
    pub proof: Option<String>,
}

/// One recorded consent event.
#[derive(Object)]
pub struct ConsentEvent {
    /// Event id.
    pub id: Uuid,
    /// The contact.
    pub contact_id: Uuid,
    /// The channel.
    pub channel: Channel,
    /// A company id of the tenant, or a brand name.
    pub sender: String,
    /// Granted (`true`) or withdrawn (`false`).
    pub granted: bool,
    /// Where the consent was collected.
    pub source: String,
    /// Evidence of the consent, if any.
    #[oai(nullable)]
    pub proof: Option<String>,
    /// The user who recorded it (absent when the platform did).
    #[oai(nullable)]
    pub actor_user_id: Option<Uuid>,
    /// When it was recorded (server time).
    pub at: DateTime<Utc>,
}

impl TryFrom<consent::Model> for ConsentEvent {
    type Error = Error;

    fn try_from(m: consent::Model) -> Result<Self> {
        Ok(Self {
            id: m.id,
            contact_id: m.contact_id,
            channel: channel_of(&m)?,
            sender: m.sender,
            granted: m.granted,
            source: m.source,
            proof: m.proof,
            actor_user_id: m.actor_user_id,
            at: m.at,
        })
    }
}

fn channel_of(m: &consent::Model) -> Result<Channel> {
    Channel::parse(&m.channel)
        .ok_or_else(|| Error::internal(format!("consent {} has channel {:?}", m.id, m.channel)))
}

/// The consent in force for one channel and sender: its latest event.
#[derive(Object)]
pub struct ConsentState {
    /// The channel.
    pub channel: Channel,
    /// A company id of the tenant, or a brand name.
    pub sender: String,
    /// Whether marketing on this channel from this sender is allowed now.
    pub granted: bool,
    /// Where the latest decision was collected.
    pub source: String,
    /// When the latest decision was recorded.
    pub at: DateTime<Utc>,
}

/// A contact's consents.
#[derive(Object)]
pub struct Consents {
    /// The state per channel and sender (pairs never recorded are absent: no consent).
    pub current: Vec<ConsentState>,
    /// Every event, newest first.
    pub history: Vec<ConsentEvent>,
}

/// Consents of contacts.
pub struct OptinsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Consents")]
impl OptinsApi {
    /// A contact's consents
    ///
    /// The consent in force per channel × sender, and the full history, newest first. Needs
    /// `contacts.consents`/`read` on the contact (404 for a contact out of reach).
    #[oai(path = "/contacts/:id/consents", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The contact.
        id: Path<Uuid>,
    ) -> poem::Result<Json<Consents>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let uow = Uow::begin(&app, &cx).await?;
        if !app
            .ports
            .contacts
            .visible(&app, uow.txn(), &cx, id.0)
            .await?
        {
            return Err(Error::NotFound("contact").into());
        }
        let history = service::history(uow.txn(), &cx, id.0).await?;
        uow.commit().await?;
        let current = service::current(&history)
            .into_iter()
            .map(|m| {
                Ok(ConsentState {
                    channel: channel_of(m)?,
                    sender: m.sender.clone(),
                    granted: m.granted,
                    source: m.source.clone(),
                    at: m.at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let history = history
            .into_iter()
            .map(ConsentEvent::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(Json(Consents { current, history }))
    }

    /// Record a consent or a withdrawal
    ///
    /// Appends an event to the contact's history; nothing is ever changed or deleted (there
    /// is no PUT, PATCH or DELETE). The recording user and the time are the server's. Needs
    /// `contacts.consents`/`write` on the contact. 422 naming the field for an unknown
    /// channel, a blank or too long sender/source/proof, or a sender id that is not one of
    /// the tenant's companies.
    #[oai(path = "/contacts/:id/consents", method = "post")]
    async fn record(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The contact.
        id: Path<Uuid>,
        body: JsonBody<NewConsent>,
    ) -> poem::Result<Created<ConsentEvent>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let uow = Uow::begin(&app, &cx).await?;
        if !app
            .ports
            .contacts
            .visible(&app, uow.txn(), &cx, id.0)
            .await?
        {
            return Err(Error::NotFound("contact").into());
        }
        let m = service::record(
            uow.txn(),
            &*app.ports.directory,
            &cx,
            id.0,
            Some(cx.user_id()),
            NewEvent {
                channel: body.channel,
                sender: &body.sender,
                granted: body.granted,
                source: &body.source,
                proof: body.proof.as_deref(),
            },
            uow.now(),
        )
        .await?;
        uow.record(
            Activity::new("contact", m.contact_id, "consent_recorded").changes(json!({
                "consent_id": m.id,
                "channel": m.channel,
                "sender": m.sender,
                "granted": m.granted,
                "source": m.source,
                "proof": m.proof,
            })),
        )
        .await?;
        uow.commit().await?;
        Ok(Created::at(
            format!("/api/v1/contacts/{}/consents", id.0),
            m.try_into()?,
        ))
    }
}
