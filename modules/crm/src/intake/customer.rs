//! The customer a partner's lead names: matched by normalised email, then phone, within the
//! tenant, completed with what the lead brings, or created as a prospect (with its company for
//! a business lead).

use crate::contacts::{
    entities::{contact, contact_email, contact_phone},
    service::{self, AddressData, ContactData},
    status, validate,
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    mail::parse_email,
    ports::leads::InboundLead,
    status_history::Cause,
    tenancy::{TenantId, TenantScoped},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, prelude::Expr, sea_query::UnionType,
};
use uuid::Uuid;

/// The lead's reachable addresses, and what could not be used (kept as text).
pub(crate) struct Reach {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub unusable: Vec<String>,
}

pub(crate) fn reach(lead: &InboundLead, country: &str) -> Reach {
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
    fn first(found: &[(u8, String, Uuid)], kind: u8, wanted: &[String]) -> Option<Uuid> {
        wanted.iter().find_map(|w| {
            found
                .iter()
                .filter(|(k, v, _)| *k == kind && v == w)
                .map(|(_, _, c)| *c)
                .min()
        })
    }
    const EMAIL: u8 = 0;
    const PHONE: u8 = 1;
    let tenant = TenantId::new(t);
    // Emails and phones in one statement; emails decide first.
    let mut q = contact_email::Entity::scoped(&tenant)
        .select_only()
        .column_as(contact_email::Column::ContactId, "contact_id")
        .column_as(contact_email::Column::Email, "value")
        .column_as(Expr::val(i32::from(EMAIL)), "kind")
        .filter(contact_email::Column::Email.is_in(r.emails.iter().map(String::as_str)))
        .into_query();
    q.union(
        UnionType::All,
        contact_phone::Entity::scoped(&tenant)
            .select_only()
            .column_as(contact_phone::Column::ContactId, "contact_id")
            .column_as(contact_phone::Column::Phone, "value")
            .column_as(Expr::val(i32::from(PHONE)), "kind")
            .filter(contact_phone::Column::Phone.is_in(r.phones.iter().map(String::as_str)))
            .into_query(),
    );
    let stmt = txn.get_database_backend().build(&q);
    let found = txn
        .query_all_raw(stmt)
        .await?
        .into_iter()
        .map(|row| {
            let kind: i32 = row.try_get("", "kind")?;
            Ok((
                u8::try_from(kind).unwrap_or(PHONE),
                row.try_get::<String>("", "value")?,
                row.try_get::<Uuid>("", "contact_id")?,
            ))
        })
        .collect::<std::result::Result<Vec<_>, sea_orm::DbErr>>()?;
    let id = first(&found, EMAIL, &r.emails).or_else(|| first(&found, PHONE, &r.phones));
    let Some(id) = id else { return Ok(None) };
    Ok(service::scoped(&TenantId::new(t))
        .filter(contact::Column::Id.eq(id))
        .one(txn)
        .await?)
}

pub(crate) fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
}

/// The company a business lead names: the tenant's company contact of that exact name, or a
/// new one.
async fn company(
    app: &App,
    txn: &DatabaseTransaction,
    t: Uuid,
    name: &str,
    lead: &InboundLead,
    reach: Option<&Reach>,
) -> Result<contact::Model> {
    let existing = service::scoped(&TenantId::new(t))
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
        ..new_contact(
            lead,
            &status::initial_status(app, txn, &TenantId::new(t)).await?,
        )
    };
    // A company found is left as it is; only a new one needs its search terms.
    let created = service::write_full(
        txn,
        &TenantId::new(t),
        Uuid::now_v7(),
        &data,
        None,
        None,
        lead.received_at,
    )
    .await?;
    service::index(app, txn, &TenantId::new(t), &created).await?;
    let start = (None, lead.received_at, Cause::Intake);
    status::started(txn, &TenantId::new(t), created.contact.id, &data, start).await?;
    Ok(created.contact)
}

/// The fields every contact created from a lead shares.
fn new_contact(lead: &InboundLead, initial: &str) -> ContactData {
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
        prospect_status: Some(initial.to_string()),
        assigned_user_id: None,
        assigned_team_id: None,
        establishment_id: lead.establishment_id,
        company_id: None,
    }
}

/// The lead's address, when it is complete enough to be one.
pub(crate) fn address(lead: &InboundLead) -> Option<AddressData> {
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
pub(crate) async fn contact_of(
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
                detail: msg!(
                    "the customer matches contact {id} which is blocked; the lead is not taken",
                    id = found.id
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
            let updated = service::write_full(
                txn,
                &TenantId::new(t),
                found.id,
                &data,
                Some(&full),
                None,
                lead.received_at,
            )
            .await?;
            service::index(app, txn, &TenantId::new(t), &updated).await?;
            updated.contact
        } else {
            found
        };
        let company = match (&business, found.kind.as_str()) {
            (Some(b), "person") => Some(company(app, txn, t, b, lead, None).await?),
            _ => None,
        };
        return Ok((found, company, false));
    }
    if !person && let Some(b) = &business {
        // Only a business: the company itself is the customer.
        let c = company(app, txn, t, b, lead, Some(r)).await?;
        return Ok((c, None, true));
    }
    let company = match &business {
        Some(b) => Some(company(app, txn, t, b, lead, None).await?),
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
        // New contacts from a lead are prospects, in the tenant's initial prospect status;
        // asked only when one is created (a lead for a known customer never asks).
        ..new_contact(
            lead,
            &status::initial_status(app, txn, &TenantId::new(t)).await?,
        )
    };
    let id = Uuid::now_v7();
    let created = service::write_full(
        txn,
        &TenantId::new(t),
        id,
        &data,
        None,
        None,
        lead.received_at,
    )
    .await?;
    service::index(app, txn, &TenantId::new(t), &created).await?;
    let start = (None, lead.received_at, Cause::Intake);
    status::started(txn, &TenantId::new(t), id, &data, start).await?;
    Ok((created.contact, company, true))
}

fn unreachable(r: &Reach) -> Error {
    let detail = match r.unusable.is_empty() {
        true => msg!("the lead has no usable email or phone"),
        false => msg!(
            "the lead has no usable email or phone ({unusable})",
            unusable = r.unusable.join("; ")
        ),
    };
    Error::Validation {
        kind: "contact_unreachable",
        field: "customer".into(),
        detail,
    }
}

/// The lead's address as one line, when it sent one.
pub(crate) fn address_text(lead: &InboundLead) -> Option<String> {
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
