//! The statuses every tenant starts with: the fixed sets of the built-in machine
//! (`FixedStatuses`), with labels in the three languages and a colour, and the `free` policy.
//! Given once per tenant and entity (`Module::default_sets`), never again.

use super::entities::{policy, status};
use chrono::{DateTime, Utc};
use forecourt_core::{
    Result,
    ports::statuses::{FixedStatuses, StatusEntity},
    tenancy::TenantId,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::json;
use uuid::Uuid;

/// The labels (fr, nl, en) and colour of a default status; `None` for a key no set has.
pub fn label_of(entity: StatusEntity, key: &str) -> Option<([&'static str; 3], &'static str)> {
    Some(match (entity, key) {
        (StatusEntity::Opportunity, "new") => (["Nouveau", "Nieuw", "New"], "#1e88e5"),
        (StatusEntity::Opportunity, "taken_in_charge") => (
            ["Pris en charge", "In behandeling", "Taken in charge"],
            "#8e24aa",
        ),
        (StatusEntity::Opportunity, "offer_sent") => (
            ["Offre envoyée", "Offerte verstuurd", "Offer sent"],
            "#fb8c00",
        ),
        (StatusEntity::Opportunity, "sold_not_delivered") => (
            [
                "Vendu non-livré",
                "Verkocht, niet geleverd",
                "Sold, not delivered",
            ],
            "#00897b",
        ),
        (StatusEntity::Opportunity, "long_term_follow_up") => (
            [
                "Suivi long terme",
                "Opvolging op lange termijn",
                "Long-term follow-up",
            ],
            "#6d4c41",
        ),
        (StatusEntity::Opportunity, "won") => (["Gagné", "Gewonnen", "Won"], "#43a047"),
        (StatusEntity::Opportunity, "lost") => (["Perdu", "Verloren", "Lost"], "#e53935"),
        (StatusEntity::Prospect, "new") => (["Nouveau", "Nieuw", "New"], "#1e88e5"),
        (StatusEntity::Prospect, "contacted") => {
            (["Contacté", "Gecontacteerd", "Contacted"], "#8e24aa")
        }
        (StatusEntity::Prospect, "qualified") => {
            (["Qualifié", "Gekwalificeerd", "Qualified"], "#fb8c00")
        }
        (StatusEntity::Prospect, "converted") => (["Converti", "Omgezet", "Converted"], "#43a047"),
        (StatusEntity::Prospect, "disqualified") => (
            ["Disqualifié", "Gediskwalificeerd", "Disqualified"],
            "#e53935",
        ),
        _ => return None,
    })
}

/// Inserts the default statuses of `entity` and its `free` policy (two statements).
pub async fn seed(
    conn: &impl ConnectionTrait,
    tenant: TenantId,
    entity: StatusEntity,
    now: DateTime<Utc>,
) -> Result<()> {
    let rows = FixedStatuses::set(entity)
        .0
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let ([fr, nl, en], colour) = label_of(entity, &s.key).unwrap_or(([""; 3], "#9e9e9e"));
            let label = |l: &str| {
                if l.is_empty() {
                    s.key.clone()
                } else {
                    l.to_string()
                }
            };
            status::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                id: Set(Uuid::now_v7()),
                entity: Set(entity.as_str().into()),
                labels: Set(json!({"fr": label(fr), "nl": label(nl), "en": label(en)})),
                position: Set(i as i32),
                kind: Set(crate::machine::kind_str(s.kind).into()),
                exempt_from_expiry: Set(s.exempt_from_expiry),
                probability: Set(i32::from(s.probability)),
                colour: Set(Some(colour.into())),
                initial: Set(s.initial),
                reserves_vehicle: Set(s.reserves_vehicle),
                archived_at: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                key: Set(s.key),
            }
        })
        .collect::<Vec<_>>();
    status::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    policy::Entity::insert(policy::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        entity: Set(entity.as_str().into()),
        mode: Set("free".into()),
        version: Set(1),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_status_has_three_labels_and_a_colour() {
        for e in StatusEntity::ALL {
            for key in FixedStatuses::set(*e).keys() {
                let (labels, colour) = label_of(*e, key).unwrap();
                assert!(labels.iter().all(|l| !l.is_empty()), "{key}");
                assert!(crate::statuses::validate::colour(colour).is_ok());
            }
        }
        assert_eq!(
            label_of(StatusEntity::Opportunity, "taken_in_charge")
                .unwrap()
                .0,
            ["Pris en charge", "In behandeling", "Taken in charge"]
        );
    }
}
