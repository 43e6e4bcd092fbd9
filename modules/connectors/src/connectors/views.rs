//! What the connector endpoints read and answer.

use super::entities::connector;
use chrono::{DateTime, Utc};
use forecourt_core::App;
use poem_openapi::{Object, types::MaybeUndefined};
use serde::Deserialize;
use uuid::Uuid;

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

/// A connector as the API shows it, with its inbound address on this server.
pub fn view(app: &App, c: connector::Model) -> ConnectorView {
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
    /// The connector, as every other endpoint shows it.
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

/// A patch field: absent, `null` or a value.
pub fn maybe(v: &MaybeUndefined<Uuid>) -> Option<Option<Uuid>> {
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
