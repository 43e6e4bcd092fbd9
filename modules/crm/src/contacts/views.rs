//! What the contacts API reads and answers: the bodies, the patch, the views, and the way a
//! stored contact becomes a view or the body that would recreate it.

use crate::contacts::{store::Full, validate};
use chrono::NaiveDate;
use poem_openapi::{ApiResponse, Enum, Object, payload::Json, types::MaybeUndefined};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

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
    /// A team of the tenant (422 otherwise): its members reach the contact as their own. An
    /// own-scope writer assigns only teams of theirs.
    pub assigned_team_id: Option<Uuid>,
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
    /// The team it is assigned to (`null`: none).
    #[serde(default)]
    pub assigned_team_id: MaybeUndefined<Uuid>,
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
    /// The prospect status (a key of the tenant's prospect statuses, `GET
    /// /statuses?entity=prospect` with the `statuses` module): set while a prospect, the last
    /// one after conversion. Changed only by `POST /contacts/{id}/status` and `convert`.
    #[oai(nullable)]
    pub prospect_status: Option<String>,
    /// Owner.
    #[oai(nullable)]
    pub assigned_user_id: Option<Uuid>,
    /// The team it is assigned to: its members reach it as their own.
    #[oai(nullable)]
    pub assigned_team_id: Option<Uuid>,
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

/// A contact with its ETag.
#[derive(ApiResponse)]
pub enum ContactResponse {
    /// The contact.
    #[oai(status = 200)]
    Ok(Json<ContactView>, #[oai(header = "ETag")] String),
}

/// A stored contact as read, `today` deciding its age.
pub fn view(f: Full, today: NaiveDate, extensions: serde_json::Value) -> ContactView {
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
        prospect_status: c.prospect_status,
        assigned_user_id: c.assigned_user_id,
        assigned_team_id: c.assigned_team_id,
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
pub fn as_body(f: &Full) -> ContactBody {
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
        assigned_team_id: v.assigned_team_id,
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

/// The body `b` with the changes of `p`: absent fields stay, `null` clears, lists replace.
pub fn patched(mut b: ContactBody, p: ContactPatch) -> ContactBody {
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
    apply(&mut b.assigned_team_id, p.assigned_team_id);
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
