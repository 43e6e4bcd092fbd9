//! `/api/v1/contacts` and `/api/v1/search`.

use crate::{
    contacts::entities::contact,
    contacts::service::{self, AddressData, ContactData, Full},
    contacts::validate,
};
use chrono::NaiveDate;
use forecourt_core::{
    App, Error, Result,
    access::{Action, Scope},
    activity::{self, Actor},
    cache::CacheKey,
    context::TenantUser,
    http::{JsonBody, List, NoContent, TenantAuth, fetch_page},
    mail::parse_email,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi, Tags,
    param::{Header, Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::{sync::Arc, time::Duration};
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// People and companies the dealer works with.
    Contacts,
    /// Search across the tenant.
    Search,
}

/// Person or company.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// A natural person.
    Person,
    /// A legal entity.
    Company,
}

/// Where the contact stands commercially.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Not a customer yet.
    Prospect,
    /// Has bought (see `POST /contacts/{id}/convert`).
    Customer,
}

/// The use of an address.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AddressType {
    /// Invoices go here.
    Billing,
    /// Vehicles and documents are delivered here.
    Delivery,
    /// Any other address.
    Other,
}

/// The wire name of a serde enum value.
pub fn str_of<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A postal address.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// `billing`, `delivery` or `other`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: AddressType,
    /// The default address (exactly one when there are addresses; the first by default).
    #[oai(rename = "default", default)]
    #[serde(rename = "default", default)]
    pub is_default: bool,
    /// Street and number.
    #[oai(validator(max_length = 200))]
    pub street: String,
    /// Postal code.
    #[oai(validator(max_length = 32))]
    pub postal_code: String,
    /// City.
    #[oai(validator(max_length = 200))]
    pub city: String,
    /// ISO 3166 alpha-2 country; the tenant's default country when absent.
    #[oai(nullable, validator(max_length = 64))]
    pub country: Option<String>,
}

/// A contact to create. At least one email or phone is required.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// `person` or `company`.
    pub kind: ContactKind,
    /// Salutation (`Mr`, `Mrs`, `Dr`...) or `Company`.
    #[oai(validator(max_length = 64))]
    pub title: Option<String>,
    /// First name (persons).
    #[oai(validator(max_length = 100))]
    pub first_name: Option<String>,
    /// Last name (persons: first or last name is required).
    #[oai(validator(max_length = 100))]
    pub last_name: Option<String>,
    /// Company name (required for companies).
    #[oai(validator(max_length = 200))]
    pub company_name: Option<String>,
    /// Companies: enterprise number (Belgium: KBO/BCE, 10 digits, mod-97 checked); persons:
    /// national register number (Belgium: 11 digits, checked).
    #[oai(validator(max_length = 32))]
    pub national_number: Option<String>,
    /// Emails; stored lower-cased.
    #[oai(default)]
    #[serde(default)]
    #[oai(validator(max_length = 254))]
    pub emails: Vec<String>,
    /// Phones in any usual format; parsed with the tenant's default country, stored in E.164.
    #[oai(default)]
    #[serde(default)]
    #[oai(validator(max_length = 64))]
    pub phones: Vec<String>,
    /// Typed addresses.
    #[oai(default)]
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// VAT percentage (0 to 100).
    pub vat_rate: Option<f64>,
    /// EU VAT number, e.g. `BE0403170701` (format per country; Belgian check digits).
    #[oai(validator(max_length = 32))]
    pub vat_number: Option<String>,
    /// Position in the employer.
    #[oai(validator(max_length = 200))]
    pub position: Option<String>,
    /// Language for mail and documents (purchase orders): `fr`, `nl` or `en`; a locale such as
    /// `nl-BE` is reduced to its language. The tenant's language when absent.
    #[oai(validator(max_length = 64))]
    pub language: Option<String>,
    /// The company contact this person works for.
    pub employer_id: Option<Uuid>,
    /// Birth date, in the past.
    pub birth_date: Option<NaiveDate>,
    /// Contact groups.
    #[oai(default)]
    #[serde(default)]
    #[oai(validator(max_length = 50))]
    pub groups: Vec<String>,
    /// Free comments.
    #[oai(validator(max_length = 4000))]
    pub comments: Option<String>,
    /// A blocked contact cannot be linked to an opportunity. Not blocked when absent; creating
    /// a contact blocked (`true`) needs `contacts.blocked`/`write` (admins by default), else
    /// 403.
    pub blocked: Option<bool>,
    /// `prospect` (default) or `customer`.
    pub lifecycle: Option<Lifecycle>,
    /// The owner; the caller by default.
    pub assigned_user_id: Option<Uuid>,
    /// The establishment; the caller's by default.
    pub establishment_id: Option<Uuid>,
    /// Keep the contact to one of the tenant's companies; absent = shared across them.
    pub company_id: Option<Uuid>,
}

/// Changes to a contact: absent fields stay, `null` clears an optional field, lists replace.
#[derive(Object, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    /// `person` or `company`.
    pub kind: Option<ContactKind>,
    /// Salutation.
    #[serde(default)]
    #[oai(validator(max_length = 64))]
    pub title: MaybeUndefined<String>,
    /// First name.
    #[serde(default)]
    #[oai(validator(max_length = 100))]
    pub first_name: MaybeUndefined<String>,
    /// Last name.
    #[serde(default)]
    #[oai(validator(max_length = 100))]
    pub last_name: MaybeUndefined<String>,
    /// Company name.
    #[serde(default)]
    #[oai(validator(max_length = 200))]
    pub company_name: MaybeUndefined<String>,
    /// National number.
    #[serde(default)]
    #[oai(validator(max_length = 32))]
    pub national_number: MaybeUndefined<String>,
    /// Emails (replace the list).
    #[oai(validator(max_length = 254))]
    pub emails: Option<Vec<String>>,
    /// Phones (replace the list).
    #[oai(validator(max_length = 64))]
    pub phones: Option<Vec<String>>,
    /// Addresses (replace the list).
    pub addresses: Option<Vec<Address>>,
    /// VAT percentage.
    #[serde(default)]
    pub vat_rate: MaybeUndefined<f64>,
    /// VAT number.
    #[serde(default)]
    #[oai(validator(max_length = 32))]
    pub vat_number: MaybeUndefined<String>,
    /// Position.
    #[serde(default)]
    #[oai(validator(max_length = 200))]
    pub position: MaybeUndefined<String>,
    /// Language (`fr`, `nl`, `en`); null returns to the tenant's.
    #[serde(default)]
    #[oai(validator(max_length = 64))]
    pub language: MaybeUndefined<String>,
    /// Employer.
    #[serde(default)]
    pub employer_id: MaybeUndefined<Uuid>,
    /// Birth date.
    #[serde(default)]
    pub birth_date: MaybeUndefined<NaiveDate>,
    /// Groups (replace the list).
    #[oai(validator(max_length = 50))]
    pub groups: Option<Vec<String>>,
    /// Comments.
    #[serde(default)]
    #[oai(validator(max_length = 4000))]
    pub comments: MaybeUndefined<String>,
    /// Blocked or unblocked: needs `contacts.blocked`/`write` (admins by default) on this
    /// contact, else 403 naming the permission, when it changes the current value; restating the
    /// current value needs nothing.
    pub blocked: Option<bool>,
    /// Owner.
    #[serde(default)]
    pub assigned_user_id: MaybeUndefined<Uuid>,
    /// Establishment.
    #[serde(default)]
    pub establishment_id: MaybeUndefined<Uuid>,
    /// Kept to one company (`null` = shared).
    #[serde(default)]
    pub company_id: MaybeUndefined<Uuid>,
}

/// A contact as read.
#[derive(Object, Serialize, Debug, Clone)]
pub struct ContactView {
    /// Contact id.
    pub id: Uuid,
    /// `person` or `company`.
    pub kind: ContactKind,
    /// Salutation.
    #[oai(nullable)]
    pub title: Option<String>,
    /// First name.
    #[oai(nullable)]
    pub first_name: Option<String>,
    /// Last name.
    #[oai(nullable)]
    pub last_name: Option<String>,
    /// Company name.
    #[oai(nullable)]
    pub company_name: Option<String>,
    /// The name shown in lists.
    pub display_name: String,
    /// National number.
    #[oai(nullable)]
    pub national_number: Option<String>,
    /// Emails, lower-cased.
    pub emails: Vec<String>,
    /// Phones in E.164.
    pub phones: Vec<String>,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// VAT percentage.
    #[oai(nullable)]
    pub vat_rate: Option<f64>,
    /// VAT number.
    #[oai(nullable)]
    pub vat_number: Option<String>,
    /// Position.
    #[oai(nullable)]
    pub position: Option<String>,
    /// Language for mail and documents, when set (`fr`, `nl`, `en`).
    #[oai(nullable)]
    pub language: Option<String>,
    /// Employer (a company contact).
    #[oai(nullable)]
    pub employer_id: Option<Uuid>,
    /// Birth date.
    #[oai(nullable)]
    pub birth_date: Option<NaiveDate>,
    /// Age in whole years, derived from the birth date (read-only).
    #[oai(nullable)]
    pub age: Option<u32>,
    /// Groups.
    pub groups: Vec<String>,
    /// Comments.
    #[oai(nullable)]
    pub comments: Option<String>,
    /// Blocked.
    pub blocked: bool,
    /// `prospect` or `customer`.
    pub lifecycle: Lifecycle,
    /// Owner.
    #[oai(nullable)]
    pub assigned_user_id: Option<Uuid>,
    /// Establishment.
    #[oai(nullable)]
    pub establishment_id: Option<Uuid>,
    /// Kept to this company; absent = shared across the tenant's companies.
    #[oai(nullable)]
    pub company_id: Option<Uuid>,
    /// Who created it.
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Revision, also the ETag.
    pub version: i32,
    /// What enabled modules add (e.g. `opel`), on single reads.
    pub extensions: serde_json::Value,
}

/// A likely duplicate.
#[derive(Object)]
pub struct DuplicateView {
    /// The other contact.
    pub contact: ContactView,
    /// Why: `same_email`, `same_phone`, `same_national_number`, `same_vat_number`,
    /// `similar_name`.
    pub reasons: Vec<String>,
}

/// Contacts to fold into this one.
#[derive(Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// Ids of the duplicates; they answer 404 afterwards.
    pub duplicates: Vec<Uuid>,
}

/// Search results.
#[derive(Object)]
pub struct SearchResults {
    /// Matching contacts, best first.
    pub contacts: Vec<ContactView>,
    /// Opportunities of those contacts the caller may see, open first (empty without
    /// `opportunities`/`read`).
    pub opportunities: Vec<crate::opportunities::api::OpportunityView>,
    /// Stock vehicles whose VIN starts with the query, or whose make, model and version
    /// contain every word of it (empty without `vehicles`/`read`).
    pub vehicles: Vec<crate::vehicles::api::VehicleView>,
}

/// A contact with its ETag.
#[derive(ApiResponse)]
pub enum ContactResponse {
    /// The contact.
    #[oai(status = 200)]
    Ok(Json<ContactView>, #[oai(header = "ETag")] String),
    /// Created.
    #[oai(status = 201)]
    Created(Json<ContactView>, #[oai(header = "ETag")] String),
}

fn view(f: Full, today: NaiveDate, extensions: serde_json::Value) -> ContactView {
    let c = f.contact;
    ContactView {
        id: c.id,
        kind: if c.kind == "company" {
            ContactKind::Company
        } else {
            ContactKind::Person
        },
        title: c.title,
        first_name: c.first_name,
        last_name: c.last_name,
        company_name: c.company_name,
        display_name: c.display_name,
        national_number: c.national_number,
        emails: f.emails,
        phones: f.phones,
        addresses: f
            .addresses
            .into_iter()
            .map(|a| Address {
                kind: match a.kind.as_str() {
                    "billing" => AddressType::Billing,
                    "delivery" => AddressType::Delivery,
                    _ => AddressType::Other,
                },
                is_default: a.is_default,
                street: a.street,
                postal_code: a.postal_code,
                city: a.city,
                country: Some(a.country),
            })
            .collect(),
        vat_rate: c.vat_rate,
        vat_number: c.vat_number,
        position: c.position,
        language: c.language,
        employer_id: c.employer_id,
        age: c.birth_date.and_then(|b| validate::age(b, today)),
        birth_date: c.birth_date,
        groups: f.groups,
        comments: c.comments,
        blocked: c.blocked,
        lifecycle: if c.lifecycle == "customer" {
            Lifecycle::Customer
        } else {
            Lifecycle::Prospect
        },
        assigned_user_id: c.assigned_user_id,
        establishment_id: c.establishment_id,
        company_id: c.company_id,
        created_by: c.created_by,
        created_at: c.created_at,
        updated_at: c.updated_at,
        version: c.version,
        extensions,
    }
}

/// The body that would recreate a stored contact: PATCH applies its changes to this and
/// validates the result exactly like a creation.
fn as_body(f: &Full) -> ContactBody {
    let v = view(f.clone(), chrono::NaiveDate::MIN, json!({}));
    ContactBody {
        kind: v.kind,
        title: v.title,
        first_name: v.first_name,
        last_name: v.last_name,
        company_name: v.company_name,
        national_number: v.national_number,
        emails: v.emails,
        phones: v.phones,
        addresses: v.addresses,
        vat_rate: v.vat_rate,
        vat_number: v.vat_number,
        position: v.position,
        language: v.language,
        employer_id: v.employer_id,
        birth_date: v.birth_date,
        groups: v.groups,
        comments: v.comments,
        blocked: Some(v.blocked),
        lifecycle: Some(v.lifecycle),
        assigned_user_id: v.assigned_user_id,
        establishment_id: v.establishment_id,
        company_id: v.company_id,
    }
}

fn apply<T>(target: &mut Option<T>, patch: MaybeUndefined<T>) {
    match patch {
        MaybeUndefined::Value(v) => *target = Some(v),
        MaybeUndefined::Null => *target = None,
        MaybeUndefined::Undefined => {}
    }
}

fn patched(mut b: ContactBody, p: ContactPatch) -> ContactBody {
    if let Some(k) = p.kind {
        b.kind = k;
    }
    apply(&mut b.title, p.title);
    apply(&mut b.first_name, p.first_name);
    apply(&mut b.last_name, p.last_name);
    apply(&mut b.company_name, p.company_name);
    apply(&mut b.national_number, p.national_number);
    apply(&mut b.vat_rate, p.vat_rate);
    apply(&mut b.vat_number, p.vat_number);
    apply(&mut b.position, p.position);
    apply(&mut b.language, p.language);
    apply(&mut b.employer_id, p.employer_id);
    apply(&mut b.birth_date, p.birth_date);
    apply(&mut b.comments, p.comments);
    apply(&mut b.assigned_user_id, p.assigned_user_id);
    apply(&mut b.establishment_id, p.establishment_id);
    apply(&mut b.company_id, p.company_id);
    if let Some(v) = p.emails {
        b.emails = v;
    }
    if let Some(v) = p.phones {
        b.phones = v;
    }
    if let Some(v) = p.addresses {
        b.addresses = v;
    }
    if let Some(v) = p.groups {
        b.groups = v;
    }
    if p.blocked.is_some() {
        b.blocked = p.blocked;
    }
    b
}

fn text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max => {
            Err(Error::invalid(field, format!("at most {max} characters")))
        }
        other => Ok(other),
    }
}

/// Validates a body into storable data. One path for create, patch and merge checks.
async fn validate_body(
    app: &App,
    user: &TenantUser,
    b: ContactBody,
    country: &str,
) -> Result<ContactData> {
    let today = app.clock.now().date_naive();
    let kind = str_of(b.kind);
    let first_name = text("first_name", b.first_name, 100)?;
    let last_name = text("last_name", b.last_name, 100)?;
    let company_name = text("company_name", b.company_name, 200)?;
    match b.kind {
        ContactKind::Person if first_name.is_none() && last_name.is_none() => {
            return Err(Error::invalid(
                "last_name",
                "a person needs a first or last name",
            ));
        }
        ContactKind::Company if company_name.is_none() => {
            return Err(Error::invalid("company_name", "a company needs a name"));
        }
        _ => {}
    }
    let mut emails = Vec::new();
    for (i, e) in b.emails.iter().enumerate() {
        let e = parse_email(&format!("emails[{i}]"), e)?;
        if !emails.contains(&e) {
            emails.push(e);
        }
    }
    let mut phones = Vec::new();
    for (i, p) in b.phones.iter().enumerate() {
        let p = validate::phone(&format!("phones[{i}]"), p, country)?;
        if !phones.contains(&p) {
            phones.push(p);
        }
    }
    if emails.is_empty() && phones.is_empty() {
        return Err(Error::Validation {
            kind: "contact_unreachable",
            field: "emails".into(),
            detail: "give at least one email or phone".into(),
        });
    }
    let mut addresses = Vec::new();
    for (i, a) in b.addresses.into_iter().enumerate() {
        let f = |n: &str| format!("addresses[{i}].{n}");
        let req = |n: &str, v: String| -> Result<String> {
            text(&f(n), Some(v), 200)?.ok_or_else(|| Error::invalid(f(n), "required"))
        };
        let c = a
            .country
            .map(|c| c.trim().to_uppercase())
            .unwrap_or_else(|| country.to_string());
        if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
            return Err(Error::invalid(
                f("country"),
                "an ISO 3166 alpha-2 country code",
            ));
        }
        addresses.push(AddressData {
            kind: str_of(a.kind),
            is_default: a.is_default,
            street: req("street", a.street)?,
            postal_code: req("postal_code", a.postal_code)?,
            city: req("city", a.city)?,
            country: c,
        });
    }
    match addresses.iter().filter(|a| a.is_default).count() {
        0 => {
            if let Some(first) = addresses.first_mut() {
                first.is_default = true;
            }
        }
        1 => {}
        _ => {
            return Err(Error::invalid(
                "addresses",
                "only one address can be the default",
            ));
        }
    }
    if let Some(r) = b.vat_rate
        && (!(0.0..=100.0).contains(&r) || !r.is_finite())
    {
        return Err(Error::invalid("vat_rate", "a percentage between 0 and 100"));
    }
    let vat_number = match text("vat_number", b.vat_number, 32)? {
        Some(v) => Some(validate::vat("vat_number", &v)?),
        None => None,
    };
    let national_number = match (
        text("national_number", b.national_number, 32)?,
        b.kind,
        country,
    ) {
        (Some(n), ContactKind::Company, "BE") => Some(validate::kbo("national_number", &n)?),
        (Some(n), ContactKind::Person, "BE") => {
            Some(validate::national_register("national_number", &n)?)
        }
        (other, _, _) => other,
    };
    let birth_date = match b.birth_date {
        Some(d) => Some(validate::birth_date("birth_date", d, today)?),
        None => None,
    };
    let mut groups: Vec<String> = Vec::new();
    for (i, g) in b.groups.into_iter().enumerate() {
        let g = text(&format!("groups[{i}]"), Some(g), 50)?
            .ok_or_else(|| Error::invalid(format!("groups[{i}]"), "empty group"))?;
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let t = user.tenant_id;
    if let Some(e) = b.employer_id {
        let employer = service::scoped(t)
            .filter(contact::Column::Id.eq(e))
            .one(&app.db)
            .await?;
        if employer.is_none_or(|c| c.kind != "company") {
            return Err(Error::invalid(
                "employer_id",
                "not a company contact of this tenant",
            ));
        }
    }
    let assigned = b.assigned_user_id.unwrap_or(user.user_id);
    if !service::platform_row_exists(&app.db, "users", t, assigned).await? {
        return Err(Error::invalid(
            "assigned_user_id",
            "not a user of this tenant",
        ));
    }
    let establishment = b.establishment_id.or(user.establishment_id);
    if let Some(e) = establishment
        && !service::platform_row_exists(&app.db, "establishments", t, e).await?
    {
        return Err(Error::invalid(
            "establishment_id",
            "not an establishment of this tenant",
        ));
    }
    if let Some(c) = b.company_id
        && !service::platform_row_exists(&app.db, "companies", t, c).await?
    {
        return Err(Error::invalid("company_id", "not a company of this tenant"));
    }
    Ok(ContactData {
        kind,
        title: text("title", b.title, 50)?,
        first_name,
        last_name,
        company_name,
        national_number,
        emails,
        phones,
        addresses,
        vat_rate: b.vat_rate,
        vat_number,
        position: text("position", b.position, 100)?,
        language: match b.language {
            Some(l) => Some(validate::language(&l).ok_or_else(|| {
                Error::invalid(
                    "language",
                    "one of `fr`, `nl`, `en` (or a locale such as `nl-BE`)",
                )
            })?),
            None => None,
        },
        employer_id: b.employer_id,
        birth_date,
        groups,
        comments: text("comments", b.comments, 5000)?,
        blocked: b.blocked.unwrap_or(false),
        lifecycle: str_of(b.lifecycle.unwrap_or(Lifecycle::Prospect)),
        assigned_user_id: Some(assigned),
        establishment_id: establishment,
        company_id: b.company_id,
    })
}

/// A write must stay within the caller's scope: own contacts stay assigned to the caller,
/// establishment contacts in the caller's establishment.
fn ensure_within(user: &TenantUser, scope: Scope, d: &ContactData) -> Result<()> {
    let ok = match scope {
        Scope::Tenant => true,
        Scope::Establishment => {
            d.establishment_id.is_some() && d.establishment_id == user.establishment_id
        }
        Scope::Own => d.assigned_user_id == Some(user.user_id),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::forbidden(
            "this contact would be outside your reach (owner or establishment)",
        ))
    }
}

/// The permission object that blocks and unblocks contacts: a block is an admin's decision
/// (a customer who must not be sold to), so writing a contact is not enough to lift it.
const BLOCKED: &str = "contacts.blocked";

/// Checks the caller may block or unblock this contact: `contacts.blocked`/`write` at a scope
/// that reaches the contact as it is (`current`, absent on creation) and as it will be. Asked
/// when a write would change the flag (or create a contact blocked).
async fn may_set_blocked(
    conn: &impl sea_orm::ConnectionTrait,
    app: &App,
    user: &TenantUser,
    current: Option<Uuid>,
    d: &ContactData,
) -> Result<()> {
    let denied = |detail: &str| Error::Forbidden {
        kind: "forbidden",
        detail: format!("you lack the permission `{BLOCKED}` / `write`{detail}"),
        extra: Some(json!({"permission": BLOCKED, "action": "write", "field": "blocked"})),
    };
    let Some(scope) = app.authz.scope(user, BLOCKED, Action::Write).await? else {
        return Err(denied(""));
    };
    let reaches_current = match current {
        Some(id) => service::find_visible(conn, user, id, scope)
            .await?
            .is_some(),
        None => true,
    };
    if !reaches_current || ensure_within(user, scope, d).is_err() {
        return Err(denied(" on this contact (owner or establishment)"));
    }
    Ok(())
}

async fn country_of(app: &App, tenant_id: Uuid) -> Result<String> {
    Ok(app
        .ports
        .directory
        .tenant_info(app, tenant_id)
        .await?
        .map(|i| i.country)
        .unwrap_or_else(|| "BE".into()))
}

/// The extensions enabled modules add to a single contact read.
async fn extensions(app: &App, user: &TenantUser, id: Uuid) -> Result<serde_json::Value> {
    let Some(info) = app.ports.directory.tenant_info(app, user.tenant_id).await? else {
        return Ok(json!({}));
    };
    let txn = forecourt_core::db::begin(&app.db).await?;
    let mut out = serde_json::Map::new();
    for m in app.registry.available(Some(&info)) {
        if let Some(v) = m.contact_extension(app, &txn, user.tenant_id, id).await? {
            out.insert(m.id().to_string(), v);
        }
    }
    txn.commit().await?;
    Ok(serde_json::Value::Object(out))
}

/// Ranked, visible contact ids for a query, cached per tenant, scope and query; the cache
/// is skipped (never required) when it is unreachable.
async fn search_ids(
    app: &App,
    user: &TenantUser,
    scope: Scope,
    q: &str,
    limit: u64,
) -> Result<Vec<Uuid>> {
    let tokens = validate::query_tokens(q);
    if tokens.is_empty() {
        return Ok(vec![]);
    }
    let t = user.tenant_id;
    let company = service::user_company(&app.db, user).await?;
    let hidden = service::hidden_modules(app, t).await?;
    let generation = app.cache.count(&service::generation_key(t)).await;
    // The key holds exactly what decides the answer: the visibility (scope, user,
    // establishment, company), the modules whose terms count, the limit and the words.
    let key = CacheKey::tenant(
        t,
        &format!(
            "contacts:search:{generation}:{}:{}:{limit}:{}",
            service::visibility_key(user, scope, company),
            hidden.join(","),
            tokens.join(" ")
        ),
    );
    if let Some(ids) = app.cache.get::<Vec<Uuid>>(&key).await {
        return Ok(ids);
    }
    let visible = (scope != Scope::Tenant).then(|| service::visibility(user, scope, company));
    let ids = service::search(&app.db, t, &tokens, visible, &hidden, limit).await?;
    app.cache.set(&key, &ids, Duration::from_secs(60)).await;
    Ok(ids)
}

/// The contacts matching `q` that the caller may see, best first, complete: what a search
/// answers (`GET /contacts?q=`, `GET /search`, and `forecourt bench search`).
pub async fn search_contacts(
    app: &App,
    user: &TenantUser,
    scope: Scope,
    q: &str,
    limit: u64,
) -> Result<Vec<Full>> {
    let ids = search_ids(app, user, scope, q, limit).await?;
    load_in_order(app, user.tenant_id, &ids).await
}

async fn load_in_order(app: &App, tenant_id: Uuid, ids: &[Uuid]) -> Result<Vec<Full>> {
    let rows = service::scoped(tenant_id)
        .filter(contact::Column::Id.is_in(ids.to_vec()))
        .all(&app.db)
        .await?;
    let mut full = service::complete_many(&app.db, tenant_id, rows).await?;
    full.sort_by_key(|f| ids.iter().position(|i| *i == f.contact.id));
    Ok(full)
}

/// A single contact as answered: with the extensions of the tenant's modules and its ETag.
async fn answer(
    app: &App,
    user: &TenantUser,
    full: Full,
    created: bool,
) -> Result<ContactResponse> {
    let (id, version) = (full.contact.id, full.contact.version);
    let ext = extensions(app, user, id).await?;
    let body = Json(view(full, app.clock.now().date_naive(), ext));
    Ok(if created {
        ContactResponse::Created(body, forecourt_core::http::etag(version))
    } else {
        ContactResponse::Ok(body, forecourt_core::http::etag(version))
    })
}

fn snapshot(d: &ContactData) -> serde_json::Value {
    serde_json::to_value(d).unwrap_or_default()
}

/// Contacts.
pub struct ContactsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Contacts")]
impl ContactsApi {
    /// List or search contacts
    ///
    /// Without `q`: the contacts within the caller's `contacts`/`read` scope, oldest first,
    /// with cursor pagination. With `q`: accent- and case-insensitive prefix search on names,
    /// company names, emails, phones in any format (`0470 12 34 56` finds `+32470123456`),
    /// national and VAT numbers, best matches first (at most `limit`, no cursor).
    #[oai(path = "/contacts", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        q: Query<Option<String>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<ContactView>>> {
        let scope = app.authz.require(&auth.0, "contacts", Action::Read).await?;
        let today = app.clock.now().date_naive();
        if let Some(q) = q.0.as_deref().filter(|q| !q.trim().is_empty()) {
            let limit = forecourt_core::http::page_limit(limit.0);
            let items = search_contacts(&app, &auth.0, scope, q, limit).await?;
            return Ok(Json(List {
                items: items
                    .into_iter()
                    .map(|f| view(f, today, json!({})))
                    .collect(),
                next_cursor: None,
            }));
        }
        let company = service::user_company(&app.db, &auth.0).await?;
        let query =
            service::scoped(auth.tenant_id()).filter(service::visibility(&auth.0, scope, company));
        let page = fetch_page(
            &app.db,
            query,
            contact::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        let full = service::complete_many(&app.db, auth.tenant_id(), page.rows).await?;
        Ok(Json(List {
            items: full
                .into_iter()
                .map(|f| view(f, today, json!({})))
                .collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Create a contact
    ///
    /// Needs `contacts`/`write`, and `contacts.blocked`/`write` to create it blocked. At
    /// least one email or phone (422 `contact_unreachable`); every field is validated and a
    /// 422 names the offending one. Search it first (`GET /contacts?q=`) to avoid duplicates.
    #[oai(path = "/contacts", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<ContactBody>,
    ) -> poem::Result<ContactResponse> {
        let scope = app
            .authz
            .require(&auth.0, "contacts", Action::Write)
            .await?;
        let t = auth.tenant_id();
        // Creating a contact blocked needs the right; explicitly not blocked is the default.
        let sets_blocked = body.0.blocked == Some(true);
        let data = validate_body(&app, &auth.0, body.0, &country_of(&app, t).await?).await?;
        ensure_within(&auth.0, scope, &data)?;
        if sets_blocked {
            may_set_blocked(&app.db, &app, &auth.0, None, &data).await?;
        }
        let now = app.clock.now();
        let id = Uuid::now_v7();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let model = service::write(&txn, t, id, &data, None, Some(auth.0.user_id), now).await?;
        service::reindex(&app, &txn, t, id).await?;
        activity::record(
            &txn,
            t,
            Actor::User(&auth.0),
            now,
            "contact",
            id,
            "created",
            snapshot(&data),
        )
        .await?;
        let full = service::complete(&txn, model).await?;
        txn.commit().await.map_err(Error::from)?;
        service::searches_changed(&app, t).await;
        Ok(answer(&app, &auth.0, full, true).await?)
    }

    /// Get a contact
    ///
    /// With its `ETag` (send it back as `If-Match` when changing the contact) and the
    /// extensions of the tenant's enabled modules.
    #[oai(path = "/contacts/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<ContactResponse> {
        let scope = app.authz.require(&auth.0, "contacts", Action::Read).await?;
        let full = service::load_visible(&app.db, &auth.0, id.0, scope).await?;
        Ok(answer(&app, &auth.0, full, false).await?)
    }

    /// Change a contact
    ///
    /// Absent fields stay; `null` clears. With `If-Match` carrying a stale ETag the answer is
    /// 412 and nothing changes. Server-owned fields (id, stamps, age, version) are refused.
    /// Changing `blocked` needs `contacts.blocked`/`write` (admins by default): 403 otherwise.
    #[oai(path = "/contacts/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<ContactPatch>,
    ) -> poem::Result<ContactResponse> {
        let scope = app
            .authz
            .require(&auth.0, "contacts", Action::Write)
            .await?;
        let t = auth.tenant_id();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let current = service::load_visible(&txn, &auth.0, id.0, scope).await?;
        if let Some(m) = if_match.0.as_deref()
            && !forecourt_core::http::if_match(m, current.contact.version)
        {
            return Err(Error::PreconditionFailed.into());
        }
        let before = ContactData::from(&current);
        // Only a change of the flag needs the right: a client sending back the contact it
        // read (blocked or not) changes nothing.
        let sets_blocked = body.0.blocked.is_some_and(|b| b != current.contact.blocked);
        let data = validate_body(
            &app,
            &auth.0,
            patched(as_body(&current), body.0),
            &country_of(&app, t).await?,
        )
        .await?;
        ensure_within(&auth.0, scope, &data)?;
        if sets_blocked {
            may_set_blocked(&txn, &app, &auth.0, Some(id.0), &data).await?;
        }
        let now = app.clock.now();
        // The version check in the update makes concurrent writers conflict instead of
        // silently overwriting each other.
        let bumped = contact::Entity::update_many()
            .col_expr(
                contact::Column::Version,
                sea_orm::prelude::Expr::value(current.contact.version + 1),
            )
            .filter(contact::Column::TenantId.eq(t))
            .filter(contact::Column::Id.eq(id.0))
            .filter(contact::Column::Version.eq(current.contact.version))
            .exec(&txn)
            .await
            .map_err(|e| match Error::from(e) {
                // Another writer committed first: the contact changed since it was read.
                Error::Conflict {
                    kind: "write_conflict",
                    ..
                } => Error::PreconditionFailed,
                other => other,
            })?;
        if bumped.rows_affected != 1 {
            return Err(Error::PreconditionFailed.into());
        }
        // `write` stores the version after `current`'s, the one the guard above claimed.
        let model = service::write(&txn, t, id.0, &data, Some(&current.contact), None, now).await?;
        service::reindex(&app, &txn, t, id.0).await?;
        let changes = activity::diff(&snapshot(&before), &snapshot(&data));
        activity::record(
            &txn,
            t,
            Actor::User(&auth.0),
            now,
            "contact",
            id.0,
            "updated",
            changes,
        )
        .await?;
        let full = service::complete(&txn, model).await?;
        txn.commit().await.map_err(Error::from)?;
        service::searches_changed(&app, t).await;
        Ok(answer(&app, &auth.0, full, false).await?)
    }

    /// Delete a contact
    ///
    /// Needs `contacts`/`delete`. Its employees keep existing without an employer.
    #[oai(path = "/contacts/:id", method = "delete")]
    async fn delete(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<NoContent> {
        let scope = app
            .authz
            .require(&auth.0, "contacts", Action::Delete)
            .await?;
        let t = auth.tenant_id();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let current = service::load_visible(&txn, &auth.0, id.0, scope).await?;
        contact::Entity::update_many()
            .col_expr(
                contact::Column::EmployerId,
                sea_orm::prelude::Expr::value(Option::<Uuid>::None),
            )
            .filter(contact::Column::TenantId.eq(t))
            .filter(contact::Column::EmployerId.eq(id.0))
            .exec(&txn)
            .await
            .map_err(Error::from)?;
        contact::Entity::delete_by_id((t, id.0))
            .exec(&txn)
            .await
            .map_err(Error::from)?;
        activity::record(
            &txn,
            t,
            Actor::User(&auth.0),
            app.clock.now(),
            "contact",
            id.0,
            "deleted",
            json!({"display_name": current.contact.display_name}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        service::searches_changed(&app, t).await;
        Ok(NoContent::NoContent)
    }

    /// Convert a prospect to a customer
    ///
    /// 409 `already_customer` when it is one.
    #[oai(path = "/contacts/:id/convert", method = "post")]
    async fn convert(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<ContactResponse> {
        let scope = app
            .authz
            .require(&auth.0, "contacts", Action::Write)
            .await?;
        let t = auth.tenant_id();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let current = service::load_visible(&txn, &auth.0, id.0, scope).await?;
        if current.contact.lifecycle == "customer" {
            return Err(
                Error::conflict("already_customer", "this contact is already a customer").into(),
            );
        }
        let now = app.clock.now();
        let mut am: contact::ActiveModel = current.contact.clone().into();
        am.lifecycle = sea_orm::ActiveValue::Set("customer".into());
        am.version = sea_orm::ActiveValue::Set(current.contact.version + 1);
        am.updated_at = sea_orm::ActiveValue::Set(now);
        let model = sea_orm::ActiveModelTrait::update(am, &txn)
            .await
            .map_err(Error::from)?;
        activity::record(
            &txn,
            t,
            Actor::User(&auth.0),
            now,
            "contact",
            id.0,
            "converted",
            json!({"lifecycle": {"from": "prospect", "to": "customer"}}),
        )
        .await?;
        let full = service::complete(&txn, model).await?;
        txn.commit().await.map_err(Error::from)?;
        service::searches_changed(&app, t).await;
        Ok(answer(&app, &auth.0, full, false).await?)
    }

    /// Likely duplicates
    ///
    /// Contacts sharing an email, a phone, a national or VAT number, or the whole name, each
    /// with its reasons, most reasons first. Only contacts the caller may see are listed.
    #[oai(path = "/contacts/:id/duplicates", method = "get")]
    async fn duplicates(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<List<DuplicateView>>> {
        let scope = app.authz.require(&auth.0, "contacts", Action::Read).await?;
        let t = auth.tenant_id();
        let full = service::load_visible(&app.db, &auth.0, id.0, scope).await?;
        let mut found = service::duplicates(&app.db, &full).await?;
        found.sort_by_key(|(_, reasons)| std::cmp::Reverse(reasons.len()));
        let company = service::user_company(&app.db, &auth.0).await?;
        let ids: Vec<Uuid> = found.iter().map(|(i, _)| *i).collect();
        let visible = service::scoped(t)
            .filter(contact::Column::Id.is_in(ids.clone()))
            .filter(service::visibility(&auth.0, scope, company))
            .all(&app.db)
            .await
            .map_err(Error::from)?;
        let visible_ids: Vec<Uuid> = ids
            .into_iter()
            .filter(|i| visible.iter().any(|v| v.id == *i))
            .collect();
        let today = app.clock.now().date_naive();
        let mut items = Vec::new();
        for f in load_in_order(&app, t, &visible_ids).await? {
            let reasons = found
                .iter()
                .find(|(i, _)| *i == f.contact.id)
                .map(|(_, r)| r.clone())
                .unwrap_or_default();
            items.push(DuplicateView {
                contact: view(f, today, json!({})),
                reasons,
            });
        }
        Ok(Json(List {
            items,
            next_cursor: None,
        }))
    }

    /// Merge duplicates into this contact
    ///
    /// In one transaction: the duplicates' emails, phones, groups and addresses move here,
    /// empty fields are filled from them, every module moves its records (consents,
    /// categories, and later opportunities), both sides' activity logs record the merge, and
    /// the duplicates answer 404 afterwards. Needs `contacts`/`write` on this contact and
    /// `contacts`/`delete` on the duplicates. A block is kept: the result is blocked when any
    /// of them was, so a merge never unblocks (that needs `contacts.blocked`).
    #[oai(path = "/contacts/:id/merge", method = "post")]
    async fn merge(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<MergeBody>,
    ) -> poem::Result<ContactResponse> {
        let write = app
            .authz
            .require(&auth.0, "contacts", Action::Write)
            .await?;
        let delete = app
            .authz
            .require(&auth.0, "contacts", Action::Delete)
            .await?;
        if body.duplicates.is_empty() {
            return Err(Error::invalid("duplicates", "name at least one contact to merge").into());
        }
        if body.duplicates.contains(&id.0) {
            return Err(
                Error::invalid("duplicates", "a contact cannot be merged into itself").into(),
            );
        }
        let t = auth.tenant_id();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let survivor = service::load_visible(&txn, &auth.0, id.0, write).await?;
        let mut merged = Vec::new();
        for d in &body.duplicates {
            if merged.iter().any(|m: &Full| m.contact.id == *d) {
                continue;
            }
            merged.push(service::load_visible(&txn, &auth.0, *d, delete).await?);
        }
        let now = app.clock.now();
        let model = service::merge(&app, &txn, &survivor, &merged, now).await?;
        let ids: Vec<Uuid> = merged.iter().map(|m| m.contact.id).collect();
        activity::record(
            &txn,
            t,
            Actor::User(&auth.0),
            now,
            "contact",
            id.0,
            "merged",
            json!({"merged": ids}),
        )
        .await?;
        for m in &merged {
            activity::record(
                &txn,
                t,
                Actor::User(&auth.0),
                now,
                "contact",
                m.contact.id,
                "merged_into",
                json!({"survivor": id.0, "display_name": m.contact.display_name}),
            )
            .await?;
        }
        let full = service::complete(&txn, model).await?;
        txn.commit().await.map_err(Error::from)?;
        service::searches_changed(&app, t).await;
        Ok(answer(&app, &auth.0, full, false).await?)
    }
}

/// Tenant-wide search.
pub struct SearchApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Search")]
impl SearchApi {
    /// Search
    ///
    /// Contacts (the same search as `GET /contacts?q=`, cached per tenant and invalidated by
    /// every contact change), the opportunities of those contacts, and stock vehicles by VIN,
    /// make, model or version, each within the caller's permissions.
    #[oai(path = "/search", method = "get")]
    async fn search(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        q: Query<String>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<SearchResults>> {
        let scope = app.authz.require(&auth.0, "contacts", Action::Read).await?;
        let limit = forecourt_core::http::page_limit(limit.0).min(50);
        let found = search_contacts(&app, &auth.0, scope, &q.0, limit).await?;
        let contact_ids: Vec<Uuid> = found.iter().map(|f| f.contact.id).collect();
        let today = app.clock.now().date_naive();
        let contacts = found
            .into_iter()
            .map(|f| view(f, today, json!({})))
            .collect();
        let opportunities = match app
            .authz
            .scope(&auth.0, "opportunities", Action::Read)
            .await?
        {
            Some(_) => {
                crate::opportunities::api::of_contacts(&app, &auth.0, &contact_ids, limit).await?
            }
            None => vec![],
        };
        let vehicles = match app.authz.scope(&auth.0, "vehicles", Action::Read).await? {
            Some(_) => crate::vehicles::api::search(&app, auth.tenant_id(), &q.0, limit).await?,
            None => vec![],
        };
        Ok(Json(SearchResults {
            contacts,
            opportunities,
            vehicles,
        }))
    }
}
