//! Leads from partners (seeds 001 and 004): the CRM side of the connectors. A lead lands on
//! the contact it names (matched by normalised email, then phone, within the tenant, or
//! created as a prospect) and on that contact's open opportunity, unless the expiry rule says
//! that opportunity has expired at the moment the lead arrives: then a new one opens.
//! Everything the lead carried goes somewhere a salesperson sees it: fields, lead-page
//! actions, or the opportunity's customer information.

use crate::{
    contacts::entities::contact,
    contacts::entities::contact_email,
    contacts::entities::contact_phone,
    contacts::service::{self, AddressData, ContactData},
    contacts::validate,
    expiry::service::{self as expiry, CLOSED},
    lead_page::actions::{self, FollowUp, TestDrive, TradeIn, VehicleRequest},
    opportunities::entities::opportunity,
    opportunities::entities::opportunity_contact,
    opportunities::entities::opportunity_vehicle,
    vehicles::api as vehicles,
};
use chrono::{DateTime, Utc};
use forecourt_core::{
    App, Error, Result,
    activity::{self, Actor},
    mail::parse_email,
    ports::leads::{InboundLead, InboundVehicle, LeadLanded, LeadPort},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, prelude::Expr,
};
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
        land(app, txn, tenant_id, lead).await
    }
}

/// The lead's reachable addresses, and what could not be used (kept as text).
struct Reach {
    emails: Vec<String>,
    phones: Vec<String>,
    unusable: Vec<String>,
}

fn reach(lead: &InboundLead, country: &str) -> Reach {
    let mut r = Reach {
        emails: Vec::new(),
        phones: Vec::new(),
        unusable: Vec::new(),
    };
    for e in &lead.contact.emails {
        match parse_email("email", e) {
            Ok(e) if !r.emails.contains(&e) => r.emails.push(e),
            Ok(_) => {}
            Err(_) => r.unusable.push(format!("Email as sent: {e}")),
        }
    }
    for p in &lead.contact.phones {
        match validate::phone("phone", p, country) {
            Ok(p) if !r.phones.contains(&p) => r.phones.push(p),
            Ok(_) => {}
            Err(_) => r.unusable.push(format!("Phone as sent: {p}")),
        }
    }
    r
}

/// The tenant's contact with one of these emails (in the lead's order), else one of these
/// phones.
async fn matching(txn: &DatabaseTransaction, t: Uuid, r: &Reach) -> Result<Option<contact::Model>> {
    // The first of the lead's values (in its order) that some contact has; the oldest such
    // contact when several have it.
    fn first(found: Vec<(String, Uuid)>, wanted: &[String]) -> Option<Uuid> {
        wanted
            .iter()
            .find_map(|w| found.iter().filter(|(v, _)| v == w).map(|(_, c)| *c).min())
    }
    let by_email = contact_email::Entity::find()
        .filter(contact_email::Column::TenantId.eq(t))
        .filter(contact_email::Column::Email.is_in(r.emails.iter().map(String::as_str)))
        .all(txn)
        .await?
        .into_iter()
        .map(|row| (row.email, row.contact_id))
        .collect();
    // An email is the stronger identity: phones count only when no email matched.
    let mut id = first(by_email, &r.emails);
    if id.is_none() && !r.phones.is_empty() {
        let by_phone = contact_phone::Entity::find()
            .filter(contact_phone::Column::TenantId.eq(t))
            .filter(contact_phone::Column::Phone.is_in(r.phones.iter().map(String::as_str)))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| (row.phone, row.contact_id))
            .collect();
        id = first(by_phone, &r.phones);
    }
    let Some(id) = id else { return Ok(None) };
    Ok(service::scoped(&forecourt_core::tenancy::TenantId::new(t))
        .filter(contact::Column::Id.eq(id))
        .one(txn)
        .await?)
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
}

/// The company a business lead names: the tenant's company contact of that exact name, or a
/// new one.
async fn company(
    txn: &DatabaseTransaction,
    t: Uuid,
    name: &str,
    lead: &InboundLead,
    reach: Option<&Reach>,
) -> Result<contact::Model> {
    let existing = service::scoped(&forecourt_core::tenancy::TenantId::new(t))
        .filter(contact::Column::Kind.eq("company"))
        .filter(contact::Column::DisplayName.eq(name))
        .order_by_asc(contact::Column::Id)
        .one(txn)
        .await?;
    if let Some(c) = existing {
        return Ok(c);
    }
    let data = ContactData {
        kind: "company".into(),
        company_name: Some(name.to_string()),
        emails: reach.map(|r| r.emails.clone()).unwrap_or_default(),
        phones: reach.map(|r| r.phones.clone()).unwrap_or_default(),
        ..new_contact(lead)
    };
    service::write(
        txn,
        &forecourt_core::tenancy::TenantId::new(t),
        Uuid::now_v7(),
        &data,
        None,
        None,
        lead.received_at,
    )
    .await
}

/// The fields every contact created from a lead shares.
fn new_contact(lead: &InboundLead) -> ContactData {
    ContactData {
        kind: "person".into(),
        title: None,
        first_name: None,
        last_name: None,
        company_name: None,
        national_number: None,
        emails: Vec::new(),
        phones: Vec::new(),
        addresses: address(lead).into_iter().collect(),
        vat_rate: None,
        vat_number: None,
        position: None,
        language: lead
            .contact
            .language
            .as_deref()
            .and_then(validate::language),
        employer_id: None,
        birth_date: None,
        groups: Vec::new(),
        comments: None,
        blocked: false,
        lifecycle: "prospect".into(),
        assigned_user_id: None,
        establishment_id: lead.establishment_id,
        company_id: None,
    }
}

/// The lead's address, when it is complete enough to be one.
fn address(lead: &InboundLead) -> Option<AddressData> {
    let [street, postal_code, city, country] = lead.contact.address.clone()?;
    let country = country
        .map(|c| c.trim().to_uppercase())
        .filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()))?;
    Some(AddressData {
        kind: "other".into(),
        is_default: true,
        street: street.filter(|s| !s.trim().is_empty())?,
        postal_code: postal_code.filter(|s| !s.trim().is_empty())?,
        city: city.filter(|s| !s.trim().is_empty())?,
        country,
    })
}

/// The contact the lead lands on, and its company contact when the lead is a business's.
async fn contact_of(
    app: &App,
    txn: &DatabaseTransaction,
    t: Uuid,
    lead: &InboundLead,
    r: &Reach,
) -> Result<(contact::Model, Option<contact::Model>, bool)> {
    let first = clean(&lead.contact.first_name);
    let last = clean(&lead.contact.last_name);
    let business = clean(&lead.contact.company_name);
    let person = first.is_some() || last.is_some();
    // A name alone reaches nobody: the lead is refused, whatever else it carries.
    if r.emails.is_empty() && r.phones.is_empty() {
        return Err(unreachable(r));
    }
    if let Some(found) = matching(txn, t, r).await? {
        if found.blocked {
            return Err(Error::Validation {
                kind: "contact_blocked",
                field: "customer".into(),
                detail: format!(
                    "the customer matches contact {} which is blocked; the lead is not taken",
                    found.id
                ),
            });
        }
        // A lead may bring a new address or number: add them, remove nothing.
        let full = service::complete(txn, found.clone()).await?;
        let mut data = ContactData::from(&full);
        let before = (data.emails.len(), data.phones.len(), data.language.clone());
        data.emails.extend(
            r.emails
                .iter()
                .filter(|e| !full.emails.contains(e))
                .cloned(),
        );
        data.phones.extend(
            r.phones
                .iter()
                .filter(|p| !full.phones.contains(p))
                .cloned(),
        );
        if data.language.is_none() {
            data.language = lead
                .contact
                .language
                .as_deref()
                .and_then(validate::language);
        }
        let found = if before != (data.emails.len(), data.phones.len(), data.language.clone()) {
            let updated = service::write(
                txn,
                &forecourt_core::tenancy::TenantId::new(t),
                found.id,
                &data,
                Some(&found),
                None,
                lead.received_at,
            )
            .await?;
            service::reindex(
                app,
                txn,
                &forecourt_core::tenancy::TenantId::new(t),
                found.id,
            )
            .await?;
            updated
        } else {
            found
        };
        let company = match (&business, found.kind.as_str()) {
            (Some(b), "person") => Some(company(txn, t, b, lead, None).await?),
            _ => None,
        };
        return Ok((found, company, false));
    }
    if !person && let Some(b) = &business {
        // Only a business: the company itself is the customer.
        let c = company(txn, t, b, lead, Some(r)).await?;
        service::reindex(app, txn, &forecourt_core::tenancy::TenantId::new(t), c.id).await?;
        return Ok((c, None, true));
    }
    let company = match &business {
        Some(b) => {
            let c = company(txn, t, b, lead, None).await?;
            service::reindex(app, txn, &forecourt_core::tenancy::TenantId::new(t), c.id).await?;
            Some(c)
        }
        None => None,
    };
    let data = ContactData {
        first_name: first,
        // Without any name the contact still needs one to be listed: its address is the best.
        last_name: last.or_else(|| {
            (!person)
                .then(|| r.emails.first().or(r.phones.first()).cloned())
                .flatten()
        }),
        emails: r.emails.clone(),
        phones: r.phones.clone(),
        employer_id: company.as_ref().map(|c| c.id),
        ..new_contact(lead)
    };
    let id = Uuid::now_v7();
    let created = service::write(
        txn,
        &forecourt_core::tenancy::TenantId::new(t),
        id,
        &data,
        None,
        None,
        lead.received_at,
    )
    .await?;
    service::reindex(app, txn, &forecourt_core::tenancy::TenantId::new(t), id).await?;
    Ok((created, company, true))
}

fn unreachable(r: &Reach) -> Error {
    let mut detail = "the lead has no usable email or phone".to_string();
    if !r.unusable.is_empty() {
        detail.push_str(&format!(" ({})", r.unusable.join("; ")));
    }
    Error::Validation {
        kind: "contact_unreachable",
        field: "customer".into(),
        detail,
    }
}

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

/// The stock vehicle with this VIN, if any.
async fn in_stock(txn: &DatabaseTransaction, t: Uuid, vin: Option<&str>) -> Result<Option<Uuid>> {
    let Some(vin) = vin.and_then(|v| vehicles::vin("vin", v).ok()) else {
        return Ok(None);
    };
    Ok(vehicles::scoped(t)
        .filter(crate::vehicles::entities::vehicle::Column::Vin.eq(vin))
        .one(txn)
        .await?
        .map(|v| v.id))
}

/// The contact's open opportunity the lead merges into: the most recent one the expiry rule
/// does not call expired at `at`.
async fn open_opportunity(
    txn: &DatabaseTransaction,
    t: Uuid,
    contact_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<opportunity::Model>> {
    let ids: Vec<Uuid> = opportunity_contact::Entity::find()
        .filter(opportunity_contact::Column::TenantId.eq(t))
        .filter(opportunity_contact::Column::ContactId.eq(contact_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| l.opportunity_id)
        .collect();
    if ids.is_empty() {
        return Ok(None);
    }
    let rule = expiry::settings(txn, t).await?;
    let open = opportunity::Entity::find()
        .filter(opportunity::Column::TenantId.eq(t))
        .filter(opportunity::Column::Id.is_in(ids))
        .filter(opportunity::Column::Status.is_not_in(CLOSED.iter().copied()))
        .order_by_desc(opportunity::Column::CreatedAt)
        .all(txn)
        .await?;
    Ok(open
        .into_iter()
        .find(|o| !o.expired && !rule.is_expired(&o.status, o.created_at, at)))
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
    t: Uuid,
    lead: &InboundLead,
) -> Result<LeadLanded> {
    let at = lead.received_at;
    let country = app
        .ports
        .directory
        .tenant_info(app, t)
        .await?
        .map(|i| i.country)
        .unwrap_or_else(|| "BE".into());
    let r = reach(lead, &country);
    let (customer, company, created) = contact_of(app, txn, t, lead, &r).await?;

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
                valuation: v.amount.filter(|a| a.is_finite() && *a >= 0.0),
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

    let (o, merged) = match open_opportunity(txn, t, customer.id, at).await? {
        Some(o) => {
            // Claim the row like every other writer (see `opportunities::lock`).
            let info = match &o.customer_info {
                Some(before) if !before.trim().is_empty() => format!("{before}\n\n{text}"),
                _ => text.clone(),
            };
            let claimed = opportunity::Entity::update_many()
                .col_expr(opportunity::Column::Version, Expr::value(o.version + 1))
                .col_expr(opportunity::Column::CustomerInfo, Expr::value(info.clone()))
                .col_expr(opportunity::Column::UpdatedAt, Expr::value(at))
                .filter(opportunity::Column::TenantId.eq(t))
                .filter(opportunity::Column::Id.eq(o.id))
                .filter(opportunity::Column::Version.eq(o.version))
                .exec(txn)
                .await?;
            if claimed.rows_affected != 1 {
                return Err(Error::conflict(
                    "write_conflict",
                    "the opportunity changed while the lead was merged; send it again",
                ));
            }
            activity::record(
                txn,
                t,
                ACTOR,
                at,
                "opportunity",
                o.id,
                "lead_merged",
                json!({"origin": lead.origin, "contact_id": customer.id, "customer_info": {"from": o.customer_info, "to": info}}),
            )
            .await?;
            (o, true)
        }
        None => {
            let o = opportunity::ActiveModel {
                tenant_id: Set(t),
                id: Set(Uuid::now_v7()),
                status: Set("new".into()),
                lost_reason: Set(None),
                customer_info: Set(Some(text.clone())),
                source_id: Set(lead.source_id),
                assigned_user_id: Set(None),
                establishment_id: Set(lead.establishment_id.or(customer.establishment_id)),
                expired: Set(false),
                created_by: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
                closed_at: Set(None),
                version: Set(1),
            }
            .insert(txn)
            .await?;
            activity::record(
                txn,
                t,
                ACTOR,
                at,
                "opportunity",
                o.id,
                "created",
                json!({"status": "new", "origin": lead.origin, "contacts": [customer.id]}),
            )
            .await?;
            (o, false)
        }
    };

    // Contacts: the customer, and the company behind a business lead.
    let linked: Vec<opportunity_contact::Model> = opportunity_contact::Entity::find()
        .filter(opportunity_contact::Column::TenantId.eq(t))
        .filter(opportunity_contact::Column::OpportunityId.eq(o.id))
        .all(txn)
        .await?;
    let mut position = linked.iter().map(|l| l.position + 1).max().unwrap_or(0);
    for (c, role) in [(Some(&customer), "customer"), (company.as_ref(), "company")] {
        let Some(c) = c else { continue };
        if linked.iter().any(|l| l.contact_id == c.id) {
            continue;
        }
        opportunity_contact::Entity::insert(opportunity_contact::ActiveModel {
            tenant_id: Set(t),
            opportunity_id: Set(o.id),
            contact_id: Set(c.id),
            role: Set(Some(role.into())),
            position: Set(position),
        })
        .exec_without_returning(txn)
        .await?;
        position += 1;
    }

    // Vehicles of interest: linked when in stock, and always noted as asked.
    let mut stock: Vec<Uuid> = opportunity_vehicle::Entity::find()
        .filter(opportunity_vehicle::Column::TenantId.eq(t))
        .filter(opportunity_vehicle::Column::OpportunityId.eq(o.id))
        .all(txn)
        .await?
        .into_iter()
        .map(|v| v.vehicle_id)
        .collect();
    let base = stock.len();
    for v in &lead.vehicles {
        let matched = in_stock(txn, t, v.vin.as_deref()).await?;
        if let Some(id) = matched
            && !stock.contains(&id)
        {
            opportunity_vehicle::Entity::insert(opportunity_vehicle::ActiveModel {
                tenant_id: Set(t),
                opportunity_id: Set(o.id),
                vehicle_id: Set(id),
                position: Set(stock.len() as i32),
            })
            .exec_without_returning(txn)
            .await?;
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
            price: v.amount.filter(|a| a.is_finite() && *a >= 0.0),
            comments: clean(&v.comments),
        };
        actions::insert(txn, &o, &request, ACTOR, at).await?;
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
            actions::insert(txn, &o, &drive, ACTOR, at).await?;
        }
    }
    if stock.len() > base {
        activity::record(
            txn,
            t,
            ACTOR,
            at,
            "opportunity",
            o.id,
            "vehicles_linked",
            json!({"vehicle_ids": &stock[base..]}),
        )
        .await?;
    }
    for trade_in in &trade_ins {
        actions::insert(txn, &o, trade_in, ACTOR, at).await?;
    }
    if let Some((deadline, reason)) = &lead.follow_up {
        let follow_up = FollowUp {
            deadline: *deadline,
            reason: reason.chars().take(500).collect(),
            outcome: None,
        };
        actions::insert(txn, &o, &follow_up, ACTOR, at).await?;
    }
    Ok(LeadLanded {
        contact_id: customer.id,
        opportunity_id: o.id,
        merged,
    })
}

/// The lead's address as one line, when it sent one.
fn address_text(lead: &InboundLead) -> Option<String> {
    let parts: Vec<&str> = lead
        .contact
        .address
        .iter()
        .flatten()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}
