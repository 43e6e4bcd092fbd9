//! Consent rules. Every read starts from `consent::Entity::scoped`, which pins the tenant;
//! events are only ever inserted (and re-pointed when contacts are merged), never changed or
//! deleted.

use crate::entities::consent;
use chrono::{DateTime, SubsecRound, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    ports::directory::{Directory, DirectoryKind},
    tenancy::{TenantScoped, Tenanted},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseExecutor,
    QueryFilter, QueryOrder, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use uuid::Uuid;

/// Longest sender, in characters.
pub const SENDER_MAX: usize = 100;
/// Longest source, in characters.
pub const SOURCE_MAX: usize = 200;
/// Longest proof, in characters.
pub const PROOF_MAX: usize = 2000;

/// A way of reaching the contact with marketing.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename = "ConsentChannel", rename_all = "snake_case")]
pub enum Channel {
    /// E-mail.
    Email,
    /// Text messages.
    Sms,
    /// Phone calls.
    Phone,
    /// Letters and printed mail.
    Post,
    /// WhatsApp messages.
    Whatsapp,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [
        Channel::Email,
        Channel::Sms,
        Channel::Phone,
        Channel::Post,
        Channel::Whatsapp,
    ];

    /// The channel's key, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Phone => "phone",
            Channel::Post => "post",
            Channel::Whatsapp => "whatsapp",
        }
    }

    /// Parses a stored key.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Who sends the marketing: one of the tenant's companies, or a brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A company (legal entity) of the tenant, by id.
    Company(Uuid),
    /// A brand name (e.g. "Opel"), trimmed.
    Brand(String),
}

impl Sender {
    /// Parses a sender as given by a client: a UUID names a company (whose existence
    /// [`check_sender`] verifies), anything else is a brand name.
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Error::invalid("sender", msg!("must not be empty")));
        }
        if s.chars().count() > SENDER_MAX {
            return Err(Error::invalid(
                "sender",
                msg!("at most {SENDER_MAX} characters", SENDER_MAX),
            ));
        }
        Ok(match Uuid::parse_str(s) {
            Ok(id) => Sender::Company(id),
            Err(_) => Sender::Brand(s.to_string()),
        })
    }

    /// The stored form: a company id in its hyphenated lower-case form, or the brand name.
    pub fn stored(&self) -> String {
        match self {
            Sender::Company(id) => id.to_string(),
            Sender::Brand(name) => name.clone(),
        }
    }
}

/// Whether a sender may be used in the tenant: a company must be one of the tenant's, as the
/// directory (which owns companies) knows them.
pub async fn check_sender(
    db: DatabaseExecutor<'_>,
    directory: &dyn Directory<App>,
    t: &impl Tenanted,
    sender: &Sender,
) -> Result<()> {
    let Sender::Company(id) = sender else {
        return Ok(());
    };
    if directory
        .exists(db, t.tenant(), DirectoryKind::Company, *id)
        .await?
    {
        Ok(())
    } else {
        Err(Error::invalid(
            "sender",
            msg!("no company of this tenant has this id; give a company id or a brand name"),
        ))
    }
}

/// A required free text: trimmed, non-empty, at most `max` characters.
fn required_text(field: &str, raw: &str, max: usize) -> Result<String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Error::invalid(field, msg!("must not be empty")));
    }
    if s.chars().count() > max {
        return Err(Error::invalid(field, msg!("at most {max} characters", max)));
    }
    Ok(s.to_string())
}

/// Validates where a consent was collected (e.g. "showroom form"): 1 to 200 characters.
pub fn clean_source(raw: &str) -> Result<String> {
    required_text("source", raw, SOURCE_MAX)
}

/// Validates the optional proof (a reference to a signed form, a web form submission...):
/// at most 2000 characters; blank means none.
pub fn clean_proof(raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) if p.chars().count() > PROOF_MAX => Err(Error::invalid(
            "proof",
            msg!("at most {PROOF_MAX} characters", PROOF_MAX),
        )),
        Some(p) => Ok(Some(p.to_string())),
    }
}

/// A consent event to record, as the client gave it.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The channel.
    pub channel: Channel,
    /// The raw sender (company id or brand).
    pub sender: &'a str,
    /// Granted (`true`) or withdrawn (`false`).
    pub granted: bool,
    /// Where it was collected.
    pub source: &'a str,
    /// Optional proof.
    pub proof: Option<&'a str>,
}

/// Validates and appends one consent event in `t`'s tenant. The actor and the time are the
/// server's; `directory` vouches for company senders.
pub async fn record<'c, C>(
    conn: &'c C,
    directory: &dyn Directory<App>,
    t: &impl Tenanted,
    contact_id: Uuid,
    actor_user_id: Option<Uuid>,
    event: NewEvent<'_>,
    now: DateTime<Utc>,
) -> Result<consent::Model>
where
    C: ConnectionTrait,
    &'c C: Into<DatabaseExecutor<'c>>,
{
    let sender = Sender::parse(event.sender)?;
    let source = clean_source(event.source)?;
    let proof = clean_proof(event.proof)?;
    check_sender(conn.into(), directory, t, &sender).await?;
    consent::ActiveModel {
        tenant_id: Set(t.tenant().uuid()),
        id: Set(Uuid::now_v7()),
        contact_id: Set(contact_id),
        channel: Set(event.channel.as_str().to_string()),
        sender: Set(sender.stored()),
        granted: Set(event.granted),
        source: Set(source),
        proof: Set(proof),
        actor_user_id: Set(actor_user_id),
        // Both backends keep microseconds: what we answer now is what a later read shows.
        at: Set(now.trunc_subsecs(6)),
    }
    .insert(conn)
    .await
    .map_err(Error::from)
}

/// Every consent event of a contact of `t`'s tenant, newest first.
pub async fn history(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    contact_id: Uuid,
) -> Result<Vec<consent::Model>> {
    Ok(consent::Entity::scoped(t)
        .filter(consent::Column::ContactId.eq(contact_id))
        .order_by_desc(consent::Column::At)
        .order_by_desc(consent::Column::Id)
        .all(conn)
        .await?)
}

/// The state in force per (channel, sender): the newest event of each pair, given the history
/// newest first. Sorted by channel, then sender.
pub fn current(history: &[consent::Model]) -> Vec<&consent::Model> {
    let mut seen = HashSet::new();
    let mut out: Vec<&consent::Model> = history
        .iter()
        .filter(|e| seen.insert((e.channel.as_str(), e.sender.as_str())))
        .collect();
    out.sort_by(|a, b| {
        let key = |e: &consent::Model| (Channel::parse(&e.channel), e.sender.clone());
        key(a).cmp(&key(b))
    });
    out
}

/// Moves the consent events of merged contacts to the survivor, keeping them all: the newest
/// event per pair, whichever contact it was recorded on, becomes the survivor's state.
pub async fn move_to_survivor(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<u64> {
    if merged.is_empty() {
        return Ok(0);
    }
    let res = consent::Entity::update_in(t)
        .col_expr(consent::Column::ContactId, Expr::value(survivor))
        .filter(consent::Column::ContactId.is_in(merged.iter().copied()))
        .exec(conn)
        .await?;
    Ok(res.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: Error) -> String {
        match e {
            Error::Validation { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn senders_are_companies_or_brands() {
        let id = Uuid::now_v7();
        assert_eq!(
            Sender::parse(&format!(" {id} ")).unwrap(),
            Sender::Company(id)
        );
        assert_eq!(
            Sender::parse(&id.simple().to_string()).unwrap().stored(),
            id.to_string()
        );
        assert_eq!(
            Sender::parse("  Opel ").unwrap(),
            Sender::Brand("Opel".into())
        );
        assert_eq!(field(Sender::parse("   ").unwrap_err()), "sender");
        assert_eq!(
            field(Sender::parse(&"x".repeat(101)).unwrap_err()),
            "sender"
        );
        assert!(Sender::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn source_and_proof_are_bounded() {
        assert_eq!(clean_source(" showroom form ").unwrap(), "showroom form");
        assert_eq!(field(clean_source("").unwrap_err()), "source");
        assert_eq!(field(clean_source(&"s".repeat(201)).unwrap_err()), "source");
        assert!(clean_source(&"s".repeat(200)).is_ok());
        assert_eq!(clean_proof(None).unwrap(), None);
        assert_eq!(clean_proof(Some("  ")).unwrap(), None);
        assert_eq!(
            clean_proof(Some(" form #12 ")).unwrap().as_deref(),
            Some("form #12")
        );
        assert_eq!(
            field(clean_proof(Some(&"p".repeat(2001))).unwrap_err()),
            "proof"
        );
    }

    #[test]
    fn channels_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(Channel::parse("fax"), None);
        assert!(serde_json::from_str::<Channel>("\"fax\"").is_err());
    }

    fn event(channel: Channel, sender: &str, granted: bool, secs: i64) -> consent::Model {
        consent::Model {
            tenant_id: Uuid::nil(),
            id: Uuid::now_v7(),
            contact_id: Uuid::nil(),
            channel: channel.as_str().into(),
            sender: sender.into(),
            granted,
            source: "test".into(),
            proof: None,
            actor_user_id: None,
            at: DateTime::from_timestamp(secs, 0).unwrap(),
        }
    }

    #[test]
    fn current_state_is_the_newest_event_per_channel_and_sender() {
        // Newest first, as `history` returns it.
        let history = vec![
            event(Channel::Email, "Opel", false, 30),
            event(Channel::Sms, "Opel", true, 20),
            event(Channel::Email, "Opel", true, 10),
            event(Channel::Email, "Peugeot", true, 5),
        ];
        let now: Vec<(&str, &str, bool)> = current(&history)
            .iter()
            .map(|e| (e.channel.as_str(), e.sender.as_str(), e.granted))
            .collect();
        assert_eq!(
            now,
            vec![
                ("email", "Opel", false),
                ("email", "Peugeot", true),
                ("sms", "Opel", true),
            ]
        );
    }
}
