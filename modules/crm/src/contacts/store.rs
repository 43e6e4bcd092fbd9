//! The contact rows as stored: a contact with its children ([`Full`]), validated data to
//! write ([`ContactData`]), and the statements that write them with the contact's own search
//! terms. Every statement pins the tenant through `TenantScoped`.

use crate::{
    contacts::entities::contact, contacts::entities::contact_address,
    contacts::entities::contact_email, contacts::entities::contact_group,
    contacts::entities::contact_phone, contacts::entities::contact_term, contacts::validate,
};
use chrono::{DateTime, NaiveDate, Utc};
use forecourt_core::{
    Result,
    tenancy::{TenantId, TenantScoped, Tenanted},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A contact with its emails, phones, addresses and groups.
#[derive(Debug, Clone)]
pub struct Full {
    /// The contact row.
    pub contact: contact::Model,
    /// Emails, in order.
    pub emails: Vec<String>,
    /// Phones (E.164), in order.
    pub phones: Vec<String>,
    /// Addresses, in order.
    pub addresses: Vec<contact_address::Model>,
    /// Groups, in order.
    pub groups: Vec<String>,
}

/// Loads the children of a contact.
pub async fn complete(conn: &impl ConnectionTrait, c: contact::Model) -> Result<Full> {
    // The row was read within its tenant: its children are read within the same one.
    let (t, id) = (TenantId::new(c.tenant_id), c.id);
    let emails = contact_email::Entity::scoped(&t)
        .filter(contact_email::Column::ContactId.eq(id))
        .order_by_asc(contact_email::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(|e| e.email)
        .collect();
    let phones = contact_phone::Entity::scoped(&t)
        .filter(contact_phone::Column::ContactId.eq(id))
        .order_by_asc(contact_phone::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(|e| e.phone)
        .collect();
    let addresses = contact_address::Entity::scoped(&t)
        .filter(contact_address::Column::ContactId.eq(id))
        .order_by_asc(contact_address::Column::Position)
        .all(conn)
        .await?;
    let groups = contact_group::Entity::scoped(&t)
        .filter(contact_group::Column::ContactId.eq(id))
        .order_by_asc(contact_group::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    Ok(Full {
        contact: c,
        emails,
        phones,
        addresses,
        groups,
    })
}

/// Loads the children of many contacts with one query per child table.
pub async fn complete_many(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    rows: Vec<contact::Model>,
) -> Result<Vec<Full>> {
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    let mut emails: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for e in contact_email::Entity::scoped(t)
        .filter(contact_email::Column::ContactId.is_in(ids.clone()))
        .order_by_asc(contact_email::Column::Position)
        .all(conn)
        .await?
    {
        emails.entry(e.contact_id).or_default().push(e.email);
    }
    let mut phones: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for p in contact_phone::Entity::scoped(t)
        .filter(contact_phone::Column::ContactId.is_in(ids.clone()))
        .order_by_asc(contact_phone::Column::Position)
        .all(conn)
        .await?
    {
        phones.entry(p.contact_id).or_default().push(p.phone);
    }
    let mut groups: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for g in contact_group::Entity::scoped(t)
        .filter(contact_group::Column::ContactId.is_in(ids.clone()))
        .order_by_asc(contact_group::Column::Position)
        .all(conn)
        .await?
    {
        groups.entry(g.contact_id).or_default().push(g.name);
    }
    let mut addresses: BTreeMap<Uuid, Vec<contact_address::Model>> = BTreeMap::new();
    for a in contact_address::Entity::scoped(t)
        .filter(contact_address::Column::ContactId.is_in(ids))
        .order_by_asc(contact_address::Column::Position)
        .all(conn)
        .await?
    {
        addresses.entry(a.contact_id).or_default().push(a);
    }
    Ok(rows
        .into_iter()
        .map(|c| Full {
            emails: emails.remove(&c.id).unwrap_or_default(),
            phones: phones.remove(&c.id).unwrap_or_default(),
            groups: groups.remove(&c.id).unwrap_or_default(),
            addresses: addresses.remove(&c.id).unwrap_or_default(),
            contact: c,
        })
        .collect())
}

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
    /// Owner.
    pub assigned_user_id: Option<Uuid>,
    /// Establishment.
    pub establishment_id: Option<Uuid>,
    /// Kept to this company; `None` = shared across the tenant's companies.
    pub company_id: Option<Uuid>,
}

impl From<&Full> for ContactData {
    /// A stored contact as data: it was validated when written, so no check runs again.
    fn from(f: &Full) -> Self {
        let c = &f.contact;
        Self {
            kind: c.kind.clone(),
            title: c.title.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            company_name: c.company_name.clone(),
            national_number: c.national_number.clone(),
            emails: f.emails.clone(),
            phones: f.phones.clone(),
            addresses: f.addresses.iter().map(address_data).collect(),
            vat_rate: c.vat_rate,
            vat_number: c.vat_number.clone(),
            position: c.position.clone(),
            language: c.language.clone(),
            employer_id: c.employer_id,
            birth_date: c.birth_date,
            groups: f.groups.clone(),
            comments: c.comments.clone(),
            blocked: c.blocked,
            lifecycle: c.lifecycle.clone(),
            assigned_user_id: c.assigned_user_id,
            establishment_id: c.establishment_id,
            company_id: c.company_id,
        }
    }
}

impl ContactData {
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

/// Writes the contact row and replaces its children.
pub async fn write(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    d: &ContactData,
    existing: Option<&contact::Model>,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<contact::Model> {
    let am = contact::ActiveModel {
        tenant_id: Set(t.tenant().uuid()),
        id: Set(id),
        kind: Set(d.kind.clone()),
        title: Set(d.title.clone()),
        first_name: Set(d.first_name.clone()),
        last_name: Set(d.last_name.clone()),
        company_name: Set(d.company_name.clone()),
        display_name: Set(d.display_name()),
        national_number: Set(d.national_number.clone()),
        vat_rate: Set(d.vat_rate),
        vat_number: Set(d.vat_number.clone()),
        position: Set(d.position.clone()),
        language: Set(d.language.clone()),
        employer_id: Set(d.employer_id),
        birth_date: Set(d.birth_date),
        comments: Set(d.comments.clone()),
        blocked: Set(d.blocked),
        lifecycle: Set(d.lifecycle.clone()),
        assigned_user_id: Set(d.assigned_user_id),
        establishment_id: Set(d.establishment_id),
        company_id: Set(d.company_id),
        created_by: Set(existing.map(|e| e.created_by).unwrap_or(by)),
        created_at: Set(existing.map(|e| e.created_at).unwrap_or(now)),
        updated_at: Set(now),
        version: Set(existing.map(|e| e.version + 1).unwrap_or(1)),
    };
    let model = match existing {
        Some(_) => sea_orm::ActiveModelTrait::update(am, conn).await?,
        None => sea_orm::ActiveModelTrait::insert(am, conn).await?,
    };
    replace_children(conn, t, id, d).await?;
    Ok(model)
}

/// Inserts rows in multi-row statements, `per_statement` at a time (SQLite bounds the bound
/// parameters of one statement); no rows, no statement.
pub(crate) async fn insert_rows<A>(
    conn: &impl ConnectionTrait,
    rows: Vec<A>,
    per_statement: usize,
) -> Result<()>
where
    A: sea_orm::ActiveModelTrait + Clone + Send + Sync,
{
    for chunk in rows.chunks(per_statement) {
        <A::Entity as EntityTrait>::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

async fn replace_children(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    d: &ContactData,
) -> Result<()> {
    contact_email::Entity::delete_in(t)
        .filter(contact_email::Column::ContactId.eq(id))
        .exec(conn)
        .await?;
    contact_phone::Entity::delete_in(t)
        .filter(contact_phone::Column::ContactId.eq(id))
        .exec(conn)
        .await?;
    contact_group::Entity::delete_in(t)
        .filter(contact_group::Column::ContactId.eq(id))
        .exec(conn)
        .await?;
    contact_address::Entity::delete_in(t)
        .filter(contact_address::Column::ContactId.eq(id))
        .exec(conn)
        .await?;
    let tenant = t.tenant().uuid();
    let emails = d
        .emails
        .iter()
        .enumerate()
        .map(|(i, e)| contact_email::ActiveModel {
            tenant_id: Set(tenant),
            contact_id: Set(id),
            email: Set(e.clone()),
            position: Set(i as i32),
        });
    insert_rows(conn, emails.collect(), 2000).await?;
    let phones = d
        .phones
        .iter()
        .enumerate()
        .map(|(i, p)| contact_phone::ActiveModel {
            tenant_id: Set(tenant),
            contact_id: Set(id),
            phone: Set(p.clone()),
            position: Set(i as i32),
        });
    insert_rows(conn, phones.collect(), 2000).await?;
    let groups = d
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| contact_group::ActiveModel {
            tenant_id: Set(tenant),
            contact_id: Set(id),
            name: Set(g.clone()),
            position: Set(i as i32),
        });
    insert_rows(conn, groups.collect(), 2000).await?;
    let addresses = d
        .addresses
        .iter()
        .enumerate()
        .map(|(i, a)| contact_address::ActiveModel {
            tenant_id: Set(tenant),
            id: Set(Uuid::now_v7()),
            contact_id: Set(id),
            kind: Set(a.kind.clone()),
            is_default: Set(a.is_default),
            street: Set(a.street.clone()),
            postal_code: Set(a.postal_code.clone()),
            city: Set(a.city.clone()),
            country: Set(a.country.clone()),
            position: Set(i as i32),
        });
    insert_rows(conn, addresses.collect(), 500).await?;
    Ok(())
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
            assigned_user_id: d.assigned_user_id,
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
    // As many rows per statement as the backend binds parameters (PostgreSQL 65,535, SQLite
    // 32,766): a million contacts are then a few thousand statements, not millions.
    let params = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => 65_000,
        _ => 32_000,
    };
    insert_rows(conn, contacts, params / 25).await?;
    insert_rows(conn, emails, params / 4).await?;
    insert_rows(conn, phones, params / 4).await?;
    insert_rows(conn, terms, params / 5).await?;
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
