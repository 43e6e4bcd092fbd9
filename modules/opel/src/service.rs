//! Category rules. Every read and change starts from `category::Entity::scoped` (or
//! `delete_in`), which pins the tenant.

use crate::entities::category;
use chrono::{DateTime, SubsecRound, Utc};
use forecourt_core::msg;
use forecourt_core::{
    Error, Result,
    tenancy::{TenantScoped, Tenanted},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The Opel-group customer segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename = "OpelSegment", rename_all = "snake_case")]
pub enum Segment {
    /// A private customer buying for themself.
    Private,
    /// A company fleet (company cars, leasing for employees).
    Fleet,
    /// A buyer of light commercial vehicles (vans, pick-ups) for a trade.
    Lcv,
    /// A rental company.
    Rental,
    /// A public body: government, administration, police, army.
    Government,
    /// The dealer's own demonstration vehicles.
    DealerDemo,
}

impl Segment {
    /// Every segment.
    pub const ALL: [Segment; 6] = [
        Segment::Private,
        Segment::Fleet,
        Segment::Lcv,
        Segment::Rental,
        Segment::Government,
        Segment::DealerDemo,
    ];

    /// The segment's key, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Private => "private",
            Segment::Fleet => "fleet",
            Segment::Lcv => "lcv",
            Segment::Rental => "rental",
            Segment::Government => "government",
            Segment::DealerDemo => "dealer_demo",
        }
    }

    /// Parses a stored key.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Shortest fleet code.
pub const FLEET_CODE_MIN: usize = 5;
/// Longest fleet code.
pub const FLEET_CODE_MAX: usize = 10;

/// An Opel fleet code, as validated by [`FleetCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetCode(String);

impl FleetCode {
    /// Our validation of an Opel fleet code (Opel publishes no format, so we accept what the
    /// codes dealers hold look like and refuse obvious typing mistakes): trimmed and
    /// upper-cased, 5 to 10 characters, ASCII letters and digits only, with at least one
    /// digit. `" ab12345 "` becomes `"AB12345"`. Anything else is a 422 on `fleet_code`.
    pub fn parse(raw: &str) -> Result<Self> {
        let code = raw.trim().to_ascii_uppercase();
        let len = code.chars().count();
        if !(FLEET_CODE_MIN..=FLEET_CODE_MAX).contains(&len) {
            return Err(Error::invalid(
                "fleet_code",
                msg!(
                    "a fleet code has {FLEET_CODE_MIN} to {FLEET_CODE_MAX} characters",
                    FLEET_CODE_MIN,
                    FLEET_CODE_MAX
                ),
            ));
        }
        if !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid(
                "fleet_code",
                msg!("a fleet code has only letters A-Z and digits"),
            ));
        }
        if !code.chars().any(|c| c.is_ascii_digit()) {
            return Err(Error::invalid(
                "fleet_code",
                msg!("a fleet code contains at least one digit"),
            ));
        }
        Ok(Self(code))
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A contact's category, if it has one.
pub async fn get(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    contact_id: Uuid,
) -> Result<Option<category::Model>> {
    Ok(category::Entity::scoped(t)
        .filter(category::Column::ContactId.eq(contact_id))
        .one(conn)
        .await?)
}

/// Sets a contact's category; returns the previous one and the new one. Setting the values the
/// contact already has changes nothing (not even the stamp).
pub async fn set(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    contact_id: Uuid,
    segment: Segment,
    fleet_code: &FleetCode,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(Option<category::Model>, category::Model)> {
    let fleet_code = fleet_code.as_str().to_string();
    let before = get(conn, t, contact_id).await?;
    let after = match &before {
        Some(b) if b.segment == segment.as_str() && b.fleet_code == fleet_code => b.clone(),
        Some(b) => {
            let mut am: category::ActiveModel = b.clone().into();
            am.segment = Set(segment.as_str().to_string());
            am.fleet_code = Set(fleet_code);
            am.updated_by = Set(by);
            am.updated_at = Set(now.trunc_subsecs(6));
            am.update(conn).await?
        }
        None => {
            category::ActiveModel {
                tenant_id: Set(t.tenant().uuid()),
                contact_id: Set(contact_id),
                segment: Set(segment.as_str().to_string()),
                fleet_code: Set(fleet_code),
                updated_by: Set(by),
                updated_at: Set(now.trunc_subsecs(6)),
            }
            .insert(conn)
            .await?
        }
    };
    Ok((before, after))
}

/// Removes a contact's category; returns it, or `None` when there was none.
pub async fn remove(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    contact_id: Uuid,
) -> Result<Option<category::Model>> {
    let Some(m) = get(conn, t, contact_id).await? else {
        return Ok(None);
    };
    category::Entity::delete_in(t)
        .filter(category::Column::ContactId.eq(m.contact_id))
        .exec(conn)
        .await?;
    Ok(Some(m))
}

/// After a merge: the survivor keeps its own category; without one it takes the most
/// recently updated category of the merged contacts. The merged contacts' rows go either way.
/// Returns whether the survivor's category changed.
pub async fn merge_into(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<bool> {
    let merged: Vec<Uuid> = merged.iter().copied().filter(|m| *m != survivor).collect();
    if merged.is_empty() {
        return Ok(false);
    }
    let theirs = category::Entity::scoped(t)
        .filter(category::Column::ContactId.is_in(merged.iter().copied()))
        .order_by_desc(category::Column::UpdatedAt)
        .all(conn)
        .await?;
    let Some(newest) = theirs.first().cloned() else {
        return Ok(false);
    };
    let keep_own = get(conn, t, survivor).await?.is_some();
    category::Entity::delete_in(t)
        .filter(category::Column::ContactId.is_in(merged))
        .exec(conn)
        .await?;
    if keep_own {
        return Ok(false);
    }
    category::ActiveModel {
        tenant_id: Set(t.tenant().uuid()),
        contact_id: Set(survivor),
        segment: Set(newest.segment),
        fleet_code: Set(newest.fleet_code),
        updated_by: Set(newest.updated_by),
        updated_at: Set(newest.updated_at),
    }
    .insert(conn)
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(raw: &str) -> bool {
        matches!(
            FleetCode::parse(raw),
            Err(Error::Validation { ref field, .. }) if field == "fleet_code"
        )
    }

    #[test]
    fn fleet_codes_are_normalised() {
        let code = |raw: &str| FleetCode::parse(raw).unwrap().as_str().to_string();
        assert_eq!(code(" ab12345 "), "AB12345");
        assert_eq!(code("12345"), "12345");
        assert_eq!(code("FLEET2026X"), "FLEET2026X");
    }

    #[test]
    fn bad_fleet_codes_name_the_field() {
        assert!(rejected("AB12"), "too short");
        assert!(rejected("AB123456789"), "too long");
        assert!(rejected("ABCDEF"), "no digit");
        assert!(rejected("AB-1234"), "punctuation");
        assert!(rejected("AB 1234"), "inner space");
        assert!(rejected("ÀB1234"), "not ASCII");
        assert!(rejected("   "), "blank");
    }

    #[test]
    fn segments_round_trip() {
        for s in Segment::ALL {
            assert_eq!(Segment::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(serde_json::from_str::<Segment>("\"retail\"").is_err());
    }
}
