//! Leads from partners (seeds 001 and 004): the CRM side of the connectors. A lead lands on
//! the contact it names ([`customer`](crate::intake::customer)) and on that contact's open
//! opportunity, unless the expiry rule says that opportunity has expired at the moment the
//! lead arrives: then a new one opens. Everything the lead carried goes somewhere a
//! salesperson sees it: fields, lead-page actions, or the opportunity's customer information.
//!
//! Intake runs inside the connector's transaction ([`LeadPort::land`] is handed it), which a
//! unit of work cannot wrap: its statements run on that transaction and its activity entries
//! are written there directly, as the system actor `connector`.

use crate::{
    expiry::service as expiry,
    intake::customer::{address, address_text, clean, contact_of, reach},
    lead_page::{
        kinds::{FollowUp, Kind, TestDrive, TradeIn, VehicleRequest},
        service::{NewAction, store_many},
    },
    opportunities::{
        entities::{opportunity, opportunity_contact, opportunity_vehicle},
        links,
        reads::with_children,
        service::{Opening, open, statuses},
    },
    vehicles::service as vehicles,
};
use chrono::{DateTime, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    activity::{self, Actor},
    ports::{
        leads::{InboundLead, InboundVehicle, LeadLanded, LeadPort},
        statuses::StatusSet,
    },
    tenancy::{TenantId, TenantScoped},
    uow::claim,
};
use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter, QueryOrder, prelude::Expr};
use serde_json::json;
use uuid::Uuid;

/// Who the activity log names for what intake does.
const ACTOR: Actor<'static> = Actor::System("connector");

/// The CRM's [`LeadPort`].
pub struct Leads;

#[async_trait::async_trait]
impl LeadPort<App> for Leads {
    async fn land(
        &self,
        app: &App,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        lead: &InboundLead,
    ) -> Result<LeadLanded> {
        land(app, txn, TenantId::new(tenant_id), lead).await
    }
}

/// An activity entry of intake on opportunity `id`, in the connector's transaction.
async fn record(
    txn: &DatabaseTransaction,
    t: TenantId,
    at: DateTime<Utc>,
    id: Uuid,
    action: &str,
    changes: serde_json::Value,
) -> Result<()> {
    activity::record(txn, t.uuid(), ACTOR, at, "opportunity", id, action, changes).await
}

/// What a lead adds to its opportunity, gathered first and written at the end: the lead-page
/// actions in one statement, then the activity entries in the order they happened.
#[derive(Default)]
struct Additions {
    actions: Vec<NewAction>,
    /// `(action, changes)` of each activity entry, in order.
    entries: Vec<(String, serde_json::Value)>,
}

impl Additions {
    /// A lead-page action of the system, with its activity entry.
    fn action<K: Kind>(&mut self, body: &K, at: DateTime<Utc>) -> Result<()> {
        let a = NewAction::of(body, None, at)?;
        self.entries.push((a.recorded_as(), a.data.clone()));
        self.actions.push(a);
        Ok(())
    }

    /// Writes them on `o`: one insert of the actions, then the entries.
    async fn write(
        self,
        txn: &DatabaseTransaction,
        statuses: &StatusSet,
        o: &opportunity::Model,
        at: DateTime<Utc>,
    ) -> Result<()> {
        store_many(txn, statuses, o, &self.actions).await?;
        let t = TenantId::new(o.tenant_id);
        for (action, changes) in self.entries {
            record(txn, t, at, o.id, &action, changes).await?;
        }
        Ok(())
    }
}

/// The contact's open opportunity the lead merges into: the most recent one the expiry rule
/// does not call expired at `at`.
async fn open_opportunity(
    txn: &DatabaseTransaction,
    t: TenantId,
    statuses: &StatusSet,
    contact_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<Opened>> {
    let rule = expiry::settings(txn, &t, statuses).await?;
    let closed: Vec<&str> = statuses
        .keys()
        .filter(|k| statuses.kind(k).is_closed())
        .collect();
    // The contact's open opportunities and their children in one statement.
    let of_contact = links::of_contact(&t, contact_id);
    let open = with_children(
        txn,
        opportunity::Entity::scoped(&t)
            .filter(opportunity::Column::Id.in_subquery(of_contact))
            .filter(opportunity::Column::Status.is_not_in(closed))
            .order_by_desc(opportunity::Column::CreatedAt),
    )
    .await?;
    Ok(open
        .into_iter()
        .find(|(o, _, _)| !o.expired && !rule.is_expired(statuses, &o.status, o.created_at, at)))
}

/// An opportunity with its contact links and vehicles of interest.
type Opened = (
    opportunity::Model,
    Vec<opportunity_contact::Model>,
    Vec<opportunity_vehicle::Model>,
);

fn describe(v: &InboundVehicle) -> String {
    let year = v.year.map(|y| y.to_string());
    [
        year.as_deref(),
        v.make.as_deref(),
        v.model.as_deref(),
        v.trim.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

/// The paragraph a lead adds to the customer information.
fn paragraph(lead: &InboundLead, extra: &[String]) -> String {
    let mut lines = vec![format!(
        "{} via {}",
        lead.received_at.format("%Y-%m-%d %H:%M UTC"),
        lead.origin
    )];
    if let Some(n) = lead
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        lines.push(n.to_string());
    }
    lines.extend(extra.iter().cloned());
    lines.join("\n")
}

async fn land(
    app: &App,
    txn: &DatabaseTransaction,
    t: TenantId,
    lead: &InboundLead,
) -> Result<LeadLanded> {
    let at = lead.received_at;
    let statuses = statuses(app, txn.into(), &t).await?;
    let country = app
        .ports
        .directory
        .tenant_info(app, t.uuid())
        .await?
        .map(|i| i.country)
        .unwrap_or_else(|| "BE".into());
    let r = reach(lead, &country);
    let (customer, company, created) = contact_of(app, txn, t.uuid(), lead, &r).await?;

    // What has no field of its own goes into the text, so nothing is lost.
    let mut extra = r.unusable.clone();
    let mut trade_ins = Vec::new();
    for v in &lead.trade_ins {
        match (clean(&v.make), clean(&v.model)) {
            (Some(make), Some(model)) => trade_ins.push(TradeIn {
                make,
                model,
                year: v.year.filter(|y| (1900..=2100).contains(y)),
                mileage_km: v
                    .mileage_km
                    .and_then(|m| i32::try_from(m).ok())
                    .filter(|m| *m >= 0),
                valuation: v.amount.and_then(forecourt_core::money::Money::from_euros),
                vin: clean(&v.vin),
                condition: clean(&v.condition),
                comments: clean(&v.comments),
            }),
            _ => extra.push(format!(
                "Trade-in: {} {}",
                describe(v),
                v.comments.clone().unwrap_or_default()
            )),
        }
    }
    // A new contact got the address if it was complete; otherwise it stays readable here.
    if let Some(a) = address_text(lead)
        && (!created || address(lead).is_none())
    {
        extra.push(format!("Address as sent: {a}"));
    }
    let text = paragraph(lead, &extra);

    // A contact created for this lead has no opportunity yet: nothing to look for.
    let found = if created {
        None
    } else {
        open_opportunity(txn, t, &statuses, customer.id, at).await?
    };
    let (o, linked, stock, merged) = match found {
        Some((o, linked, stock)) => {
            let info = match &o.customer_info {
                Some(before) if !before.trim().is_empty() => format!("{before}\n\n{text}"),
                _ => text.clone(),
            };
            // The version claim every writer makes (`opportunities::service::lock`), on the
            // connector's transaction, with the merged text in the same statement.
            let claimed = claim::<opportunity::Entity>(txn, &t, o.id, o.version, |u| {
                u.col_expr(opportunity::Column::CustomerInfo, Expr::value(info.clone()))
                    .col_expr(opportunity::Column::UpdatedAt, Expr::value(at))
            })
            .await?;
            if !claimed {
                return Err(Error::conflict(
                    "write_conflict",
                    msg!("the opportunity changed while the lead was merged; send it again"),
                ));
            }
            record(
                txn,
                t,
                at,
                o.id,
                "lead_merged",
                json!({"origin": lead.origin, "contact_id": customer.id, "customer_info": {"from": o.customer_info, "to": info}}),
            )
            .await?;
            let stock = stock.into_iter().map(|v| v.vehicle_id).collect();
            (o, linked, stock, true)
        }
        None => {
            let contacts: Vec<(Uuid, Option<String>)> =
                [(Some(&customer), "customer"), (company.as_ref(), "company")]
                    .into_iter()
                    .filter_map(|(c, role)| c.map(|c| (c.id, Some(role.to_string()))))
                    .collect();
            let opening = Opening {
                status: statuses.initial().unwrap_or_default().to_string(),
                lost_reason: None,
                customer_info: Some(text.clone()),
                source_id: lead.source_id,
                assigned_user_id: None,
                assigned_team_id: None,
                establishment_id: lead.establishment_id.or(customer.establishment_id),
                created_by: None,
                at,
                contacts: contacts.clone(),
                vehicle_ids: Vec::new(),
            };
            let o = open(txn, &t, &statuses, opening).await?;
            record(
                txn,
                t,
                at,
                o.id,
                "created",
                json!({"status": o.status, "origin": lead.origin, "contacts": [customer.id]}),
            )
            .await?;
            // What was just written, not read back.
            let linked = contacts
                .into_iter()
                .zip(0..)
                .map(
                    |((contact_id, role), position)| opportunity_contact::Model {
                        tenant_id: o.tenant_id,
                        opportunity_id: o.id,
                        contact_id,
                        role,
                        position,
                    },
                )
                .collect();
            (o, linked, Vec::new(), false)
        }
    };

    // Contacts: the customer, and the company behind a business lead, when not linked yet.
    let mut position = linked.iter().map(|l| l.position + 1).max().unwrap_or(0);
    let mut missing = Vec::new();
    for (c, role) in [(Some(&customer), "customer"), (company.as_ref(), "company")] {
        let Some(c) = c else { continue };
        if linked.iter().any(|l| l.contact_id == c.id) {
            continue;
        }
        missing.push((c.id, Some(role.to_string()), position));
        position += 1;
    }
    links::link_contacts(txn, &t, o.id, missing).await?;

    // Vehicles of interest: linked when in stock (one lookup for every VIN of the lead, one
    // insert), and always noted as asked.
    let mut stock: Vec<Uuid> = stock;
    let base = stock.len();
    let vins: Vec<Option<&str>> = lead.vehicles.iter().map(|v| v.vin.as_deref()).collect();
    let matches = vehicles::with_vins(txn, &t, &vins).await?;
    let mut adds = Additions::default();
    for (v, matched) in lead.vehicles.iter().zip(matches) {
        if let Some(id) = matched
            && !stock.contains(&id)
        {
            stock.push(id);
        }
        let interest = match v.interest.as_str() {
            "lease" => "lease",
            "test_drive" => "test_drive",
            _ => "buy",
        };
        let request = VehicleRequest {
            interest: interest.into(),
            vehicle_id: matched,
            make: clean(&v.make),
            model: clean(&v.model),
            trim: clean(&v.trim),
            year: v.year,
            vin: clean(&v.vin),
            condition: clean(&v.condition),
            mileage_km: v.mileage_km,
            price: v.amount.and_then(forecourt_core::money::Money::from_euros),
            comments: clean(&v.comments),
        };
        adds.action(&request, at)?;
        if interest == "test_drive" {
            // A request: the salesperson schedules it.
            let drive = TestDrive {
                vehicle_id: matched,
                scheduled_at: None,
                driver_contact_id: customer.id,
                vehicle: Some(describe(v))
                    .filter(|d| !d.is_empty())
                    .or_else(|| clean(&v.vin)),
            };
            adds.action(&drive, at)?;
        }
    }
    if stock.len() > base {
        let rows: Vec<(Uuid, i32)> = stock[base..].iter().copied().zip(base as i32..).collect();
        links::link_vehicles(txn, &t, o.id, &rows).await?;
        adds.entries.push((
            "vehicles_linked".into(),
            json!({"vehicle_ids": &stock[base..]}),
        ));
    }
    for trade_in in &trade_ins {
        adds.action(trade_in, at)?;
    }
    if let Some((deadline, reason)) = &lead.follow_up {
        let follow_up = FollowUp {
            deadline: (*deadline).into(),
            reason: reason.chars().take(500).collect(),
            outcome: None,
        };
        adds.action(&follow_up, at)?;
    }
    adds.write(txn, &statuses, &o, at).await?;
    Ok(LeadLanded {
        contact_id: customer.id,
        opportunity_id: o.id,
        merged,
    })
}
