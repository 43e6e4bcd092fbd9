//! The contact rows as stored: a contact with its children ([`Full`]), validated data to
//! write ([`ContactData`]), and the statements that write them with the contact's own search
//! terms. Every statement pins the tenant through `TenantScoped`.

pub use crate::contacts::read::{Full, complete, complete_many};
use crate::{
    contacts::entities::contact, contacts::entities::contact_address,
    contacts::entities::contact_email, contacts::entities::contact_group,
    contacts::entities::contact_phone, contacts::entities::contact_term, contacts::validate,
};
use chrono::{DateTime, NaiveDate, Utc};
use forecourt_core::{
    Result,
    tenancy::{TenantScoped, Tenanted},
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A validated address.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AddressData {
    /// `billing`, `delivery` or `other`.
    pub kind: String,
    /// The default address.
    pub is_default: bool,
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO alpha-2 country.
    pub country: String,
}

/// A validated contact, ready to be written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContactData {
    /// `person` or `company`.
    pub kind: String,
    /// Salutation.
    pub title: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// National number (KBO/BCE for companies, national register for persons in Belgium).
    pub national_number: Option<String>,
    /// Lower-cased emails.
    pub emails: Vec<String>,
    /// E.164 phones.
    pub phones: Vec<String>,
    /// Addresses, exactly one default when there are any.
    pub addresses: Vec<AddressData>,
    /// VAT percentage.
    pub vat_rate: Option<f64>,
    /// VAT number.
    pub vat_number: Option<String>,
    /// Position in the employer.
    pub position: Option<String>,
    /// Language for mail and documents (`fr`, `nl`, `en`).
    pub language: Option<String>,
    /// The company contact the person works for.
    pub employer_id: Option<Uuid>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Groups.
    pub groups: Vec<String>,
    /// Free comments.
    pub comments: Option<String>,
    /// Blocked contacts cannot be linked to opportunities.
    pub blocked: bool,
    /// `prospect` or `customer`.
    pub lifecycle: String,
    /// The prospect status (a key of the tenant's prospect statuses): set while a prospect,
    /// kept as the last one after conversion; only status moves change it.
    pub prospect_status: Option<String>,
    /// Owner.
    pub assigned_user_id: Option<Uuid>,
    /// The team it is assigned to: its members reach it as their own.
    pub assigned_team_id: Option<Uuid>,
    /// Establishment.
    pub establishment_id: Option<Uuid>,
    /// Kept to this company; `None` = shared across the tenant's companies.
    pub company_id: Option<Uuid>,
}

impl From<&Full> for ContactData {
    /// A stored contact as data: it was validated when written, so no check runs again.
    fn from(f: &Full) -> Self {
        Self::of_row(
            &f.contact,
            f.emails.clone(),
            f.phones.clone(),
            f.addresses.iter().map(address_data).collect(),
            f.groups.clone(),
        )
    }
}

impl ContactData {
    /// A stored contact row with these child lists, as data (a merge gathers the lists of
    /// several contacts): the row was validated when written, so no check runs again.
    pub fn of_row(
        c: &contact::Model,
        emails: Vec<String>,
        phones: Vec<String>,
        addresses: Vec<AddressData>,
        groups: Vec<String>,
    ) -> Self {
        Self {
            kind: c.kind.clone(),
            title: c.title.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            company_name: c.company_name.clone(),
            national_number: c.national_number.clone(),
            emails,
            phones,
            addresses,
            vat_rate: c.vat_rate,
            vat_number: c.vat_number.clone(),
            position: c.position.clone(),
            language: c.language.clone(),
            employer_id: c.employer_id,
            birth_date: c.birth_date,
            groups,
            comments: c.comments.clone(),
            blocked: c.blocked,
            lifecycle: c.lifecycle.clone(),
            prospect_status: c.prospect_status.clone(),
            assigned_user_id: c.assigned_user_id,
            assigned_team_id: c.assigned_team_id,
            establishment_id: c.establishment_id,
            company_id: c.company_id,
        }
    }

    /// The name shown in lists and used for sorting.
    pub fn display_name(&self) -> String {
        let person = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        match (self.kind.as_str(), &self.company_name) {
            ("company", Some(c)) => c.clone(),
            (_, _) if !person.is_empty() => person,
            (_, Some(c)) => c.clone(),
            _ => String::new(),
        }
    }
}

/// `now` as the database keeps it: PostgreSQL stores microseconds (the driver truncates), so
/// an answer built from what was written shows the instant a later read shows.
pub(crate) fn stamp(now: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(now, 6)
}

/// The contact row `d` makes, written by `by` at `now`; `before` is the stored row it
/// replaces (`None`: a new contact, at version 1).
fn row(
    t: &impl Tenanted,
    id: Uuid,
    d: &ContactData,
    before: Option<&contact::Model>,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> contact::Model {
    let now = stamp(now);
    contact::Model {
        tenant_id: t.tenant().uuid(),
        id,
        kind: d.kind.clone(),
        title: d.title.clone(),
        first_name: d.first_name.clone(),
        last_name: d.last_name.clone(),
        company_name: d.company_name.clone(),
        display_name: d.display_name(),
        national_number: d.national_number.clone(),
        vat_rate: d.vat_rate,
        vat_number: d.vat_number.clone(),
        position: d.position.clone(),
        language: d.language.clone(),
        employer_id: d.employer_id,
        birth_date: d.birth_date,
        comments: d.comments.clone(),
        blocked: d.blocked,
        lifecycle: d.lifecycle.clone(),
        prospect_status: d.prospect_status.clone(),
        assigned_user_id: d.assigned_user_id,
        assigned_team_id: d.assigned_team_id,
        establishment_id: d.establishment_id,
        company_id: d.company_id,
        created_by: before.map(|e| e.created_by).unwrap_or(by),
        created_at: before.map(|e| e.created_at).unwrap_or(now),
        updated_at: now,
        version: before.map(|e| e.version + 1).unwrap_or(1),
    }
}

/// The columns an update of `m` sets: the key and the creation stamps never change, and the
/// version only when no claim moves it.
fn changes(m: &contact::Model, version: bool) -> contact::ActiveModel {
    // A model converts to unchanged values, which an update leaves out: mark them all set.
    let mut am = sea_orm::ActiveModelTrait::reset_all(contact::ActiveModel::from(m.clone()));
    am.tenant_id = NotSet;
    am.id = NotSet;
    am.created_by = NotSet;
    am.created_at = NotSet;
    if !version {
        am.version = NotSet;
    }
    am
}

/// Writes the contact row and, of its children, only the lists that differ from `before`
/// (the stored contact; `None` for a new one), and answers the contact as written: one
/// statement for the row, two per changed child table (delete, multi-row insert), no
/// re-read.
pub async fn write_full(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    d: &ContactData,
    before: Option<&Full>,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Full> {
    let model = row(t, id, d, before.map(|b| &b.contact), by, now);
    put_row(conn, t, &model, before.is_some()).await?;
    let stored = before.map_or(Stored::Nothing, Stored::Known);
    let addresses = write_children(conn, t, id, d, stored).await?;
    Ok(written(model, d, addresses))
}

/// [`write_full`] of a stored contact under its version claim: the row's new values go in
/// the claim's own statement, which sets them only when `before` is still the stored version.
/// `None` when another writer got there first (nothing is written then).
pub async fn write_claimed(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    d: &ContactData,
    before: &Full,
    now: DateTime<Utc>,
) -> Result<Option<Full>> {
    let id = before.contact.id;
    let model = row(t, id, d, Some(&before.contact), None, now);
    let claimed =
        forecourt_core::uow::claim::<contact::Entity>(conn, t, id, before.contact.version, |u| {
            u.set(changes(&model, false))
        })
        .await?;
    if !claimed {
        return Ok(None);
    }
    let addresses = write_children(conn, t, id, d, Stored::Known(before)).await?;
    Ok(Some(written(model, d, addresses)))
}

/// The contact as just written.
fn written(
    contact: contact::Model,
    d: &ContactData,
    addresses: Vec<contact_address::Model>,
) -> Full {
    Full {
        contact,
        emails: d.emails.clone(),
        phones: d.phones.clone(),
        addresses,
        groups: d.groups.clone(),
    }
}

/// Inserts the row of a new contact or updates a stored one, without reading it back.
async fn put_row(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    m: &contact::Model,
    stored: bool,
) -> Result<()> {
    if stored {
        contact::Entity::update_in(t)
            .set(changes(m, true))
            .filter(contact::Column::Id.eq(m.id))
            .exec(conn)
            .await?;
    } else {
        contact::Entity::insert(contact::ActiveModel::from(m.clone()))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Inserts rows in multi-row statements, as many to a statement as the backend binds
/// parameters (PostgreSQL 65,535, SQLite 32,766) over the table's columns, counted from the
/// entity so that a new column can never push a batch over the limit; no rows, no statement.
pub(crate) async fn insert_rows<A>(conn: &impl ConnectionTrait, rows: Vec<A>) -> Result<()>
where
    A: sea_orm::ActiveModelTrait + Clone + Send + Sync,
{
    use sea_orm::Iterable;
    let params = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => 65_535,
        _ => 32_766,
    };
    let columns = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    for chunk in rows.chunks(params / columns) {
        <A::Entity as EntityTrait>::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// What is stored of a contact's children before a write.
#[derive(Clone, Copy)]
enum Stored<'a> {
    /// A new contact: nothing.
    Nothing,
    /// These children: only the lists that differ are rewritten.
    Known(&'a Full),
}

impl Stored<'_> {
    /// Whether a child list must be written, and whether old rows must go first, given the
    /// stored list (`stored`) and the new one (`new`).
    fn plan<T: PartialEq>(self, stored: impl Fn(&Full) -> Vec<T>, new: &[T]) -> (bool, bool) {
        match self {
            Stored::Nothing => (false, !new.is_empty()),
            Stored::Known(f) => {
                let old = stored(f);
                if old == new {
                    (false, false)
                } else {
                    (!old.is_empty(), !new.is_empty())
                }
            }
        }
    }
}

/// Applies one child list's plan (see [`Stored::plan`]): deletes the contact's old rows of
/// `E`, then inserts the new ones.
async fn rewrite<E: TenantScoped>(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    (contact_column, id): (E::Column, Uuid),
    (delete, insert): (bool, bool),
    rows: impl FnOnce() -> Vec<E::ActiveModel>,
) -> Result<()>
where
    E::ActiveModel: Clone + Send + Sync,
{
    if delete {
        E::delete_in(t)
            .filter(contact_column.eq(id))
            .exec(conn)
            .await?;
    }
    if insert {
        insert_rows(conn, rows()).await?;
    }
    Ok(())
}

/// Writes the child lists of contact `id` that differ from what is stored (see [`Stored`]):
/// a delete of the old rows and one multi-row insert of the new ones per changed list.
/// Answers the contact's addresses as stored afterwards.
async fn write_children(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    d: &ContactData,
    stored: Stored<'_>,
) -> Result<Vec<contact_address::Model>> {
    let tenant = t.tenant().uuid();
    rewrite::<contact_email::Entity>(
        conn,
        t,
        (contact_email::Column::ContactId, id),
        stored.plan(|f| f.emails.clone(), &d.emails),
        || {
            let rows = d.emails.iter().enumerate();
            rows.map(|(i, e)| contact_email::ActiveModel {
                tenant_id: Set(tenant),
                contact_id: Set(id),
                email: Set(e.clone()),
                position: Set(i as i32),
            })
            .collect()
        },
    )
    .await?;
    rewrite::<contact_phone::Entity>(
        conn,
        t,
        (contact_phone::Column::ContactId, id),
        stored.plan(|f| f.phones.clone(), &d.phones),
        || {
            let rows = d.phones.iter().enumerate();
            rows.map(|(i, p)| contact_phone::ActiveModel {
                tenant_id: Set(tenant),
                contact_id: Set(id),
                phone: Set(p.clone()),
                position: Set(i as i32),
            })
            .collect()
        },
    )
    .await?;
    rewrite::<contact_group::Entity>(
        conn,
        t,
        (contact_group::Column::ContactId, id),
        stored.plan(|f| f.groups.clone(), &d.groups),
        || {
            let rows = d.groups.iter().enumerate();
            rows.map(|(i, g)| contact_group::ActiveModel {
                tenant_id: Set(tenant),
                contact_id: Set(id),
                name: Set(g.clone()),
                position: Set(i as i32),
            })
            .collect()
        },
    )
    .await?;
    let plan = stored.plan(
        |f| f.addresses.iter().map(address_data).collect(),
        &d.addresses,
    );
    if let Stored::Known(f) = stored
        && plan == (false, false)
    {
        // Unchanged: the stored rows, with their ids, stay.
        return Ok(f.addresses.clone());
    }
    let addresses: Vec<contact_address::Model> = d
        .addresses
        .iter()
        .enumerate()
        .map(|(i, a)| contact_address::Model {
            tenant_id: tenant,
            id: Uuid::now_v7(),
            contact_id: id,
            kind: a.kind.clone(),
            is_default: a.is_default,
            street: a.street.clone(),
            postal_code: a.postal_code.clone(),
            city: a.city.clone(),
            country: a.country.clone(),
            position: i as i32,
        })
        .collect();
    rewrite::<contact_address::Entity>(
        conn,
        t,
        (contact_address::Column::ContactId, id),
        plan,
        || {
            let rows = addresses.iter().cloned();
            rows.map(contact_address::ActiveModel::from).collect()
        },
    )
    .await?;
    Ok(addresses)
}

/// The search terms of a contact and their weights (3 = identifying, 1 = incidental).
pub(crate) fn own_terms(f: &Full) -> BTreeMap<String, i32> {
    let c = &f.contact;
    let mut terms = BTreeMap::new();
    let mut add = |t: String, w: i32| {
        if !t.is_empty() && t.len() <= 200 {
            let e = terms.entry(t).or_insert(w);
            *e = (*e).max(w);
        }
    };
    for field in [&c.first_name, &c.last_name, &c.company_name] {
        for w in validate::words(field.as_deref().unwrap_or("")) {
            add(w, 3);
        }
    }
    for e in &f.emails {
        add(e.clone(), 3);
        for w in validate::words(e.split('@').next().unwrap_or("")) {
            add(w, 1);
        }
    }
    for p in &f.phones {
        for t in validate::phone_terms(p) {
            add(t, 3);
        }
    }
    if let Some(n) = &c.national_number {
        add(validate::fold(n), 3);
    }
    if let Some(v) = &c.vat_number {
        let v = validate::fold(v);
        add(v.get(2..).unwrap_or("").to_string(), 3);
        add(v, 3);
    }
    terms
}

/// Inserts many new contacts with their emails, phones and search terms in a few multi-row
/// statements, each as large as the backend allows (imports, benchmarks). Groups, addresses and module terms are not written:
/// reindex a contact to add module terms.
pub async fn insert_many(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    items: &[(Uuid, ContactData)],
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let tenant_id = t.tenant().uuid();
    let mut contacts = Vec::new();
    let (mut emails, mut phones, mut terms) = (Vec::new(), Vec::new(), Vec::new());
    for (id, d) in items {
        let row = contact::Model {
            tenant_id,
            id: *id,
            kind: d.kind.clone(),
            title: d.title.clone(),
            first_name: d.first_name.clone(),
            last_name: d.last_name.clone(),
            company_name: d.company_name.clone(),
            display_name: d.display_name(),
            national_number: d.national_number.clone(),
            vat_rate: d.vat_rate,
            vat_number: d.vat_number.clone(),
            position: d.position.clone(),
            language: d.language.clone(),
            employer_id: d.employer_id,
            birth_date: d.birth_date,
            comments: d.comments.clone(),
            blocked: d.blocked,
            lifecycle: d.lifecycle.clone(),
            prospect_status: d.prospect_status.clone(),
            assigned_user_id: d.assigned_user_id,
            assigned_team_id: d.assigned_team_id,
            establishment_id: d.establishment_id,
            company_id: d.company_id,
            created_by: by,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let full = Full {
            contact: row.clone(),
            emails: d.emails.clone(),
            phones: d.phones.clone(),
            addresses: vec![],
            groups: vec![],
        };
        for (term, weight) in own_terms(&full) {
            terms.push(term_row(tenant_id, *id, term, weight, ""));
        }
        for (i, e) in d.emails.iter().enumerate() {
            emails.push(contact_email::ActiveModel {
                tenant_id: Set(tenant_id),
                contact_id: Set(*id),
                email: Set(e.clone()),
                position: Set(i as i32),
            });
        }
        for (i, p) in d.phones.iter().enumerate() {
            phones.push(contact_phone::ActiveModel {
                tenant_id: Set(tenant_id),
                contact_id: Set(*id),
                phone: Set(p.clone()),
                position: Set(i as i32),
            });
        }
        contacts.push(contact::ActiveModel::from(row));
    }
    // As many rows per statement as the backend binds (see `insert_rows`): a million contacts
    // are then a few thousand statements, not millions.
    insert_rows(conn, contacts).await?;
    insert_rows(conn, emails).await?;
    insert_rows(conn, phones).await?;
    insert_rows(conn, terms).await?;
    Ok(())
}

pub(crate) fn term_row(
    tenant_id: Uuid,
    contact_id: Uuid,
    term: String,
    weight: i32,
    module: &str,
) -> contact_term::ActiveModel {
    contact_term::ActiveModel {
        tenant_id: Set(tenant_id),
        term: Set(term),
        contact_id: Set(contact_id),
        weight: Set(weight),
        module: Set(module.to_string()),
    }
}

/// An address row as validated data.
pub fn address_data(a: &contact_address::Model) -> AddressData {
    AddressData {
        kind: a.kind.clone(),
        is_default: a.is_default,
        street: a.street.clone(),
        postal_code: a.postal_code.clone(),
        city: a.city.clone(),
        country: a.country.clone(),
    }
}
