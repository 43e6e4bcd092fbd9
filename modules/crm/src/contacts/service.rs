//! Contact rules. Every read of the contact table starts from [`scoped`], which pins the
//! tenant; visibility within the tenant follows the caller's grant scope and the contact's
//! sharing (seed 003: shared across the tenant's companies, or kept to one).

use crate::{
    contacts::entities::contact, contacts::entities::contact_address,
    contacts::entities::contact_email, contacts::entities::contact_group,
    contacts::entities::contact_phone, contacts::entities::contact_term, contacts::validate,
};
use chrono::{DateTime, NaiveDate, Utc};
use forecourt_core::{App, Error, Result, access::Scope, context::TenantUser};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, Select, Statement,
};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// The cache key of a tenant's search generation, part of every cached search's key.
pub fn generation_key(tenant_id: Uuid) -> forecourt_core::cache::CacheKey {
    forecourt_core::cache::CacheKey::tenant(tenant_id, "contacts:generation")
}

/// Invalidates every cached contact search of the tenant by moving its generation on.
pub async fn searches_changed(app: &App, tenant_id: Uuid) {
    app.cache
        .incr(
            &generation_key(tenant_id),
            std::time::Duration::from_secs(30 * 24 * 3600),
        )
        .await;
}

/// Contacts of one tenant: the only way this crate reads the contact table.
pub fn scoped(tenant_id: Uuid) -> Select<contact::Entity> {
    contact::Entity::find().filter(contact::Column::TenantId.eq(tenant_id))
}

/// Whether a row of a platform table exists in the tenant. The platform tables belong to the
/// `tenants` crate, which modules may not depend on; only these names are accepted.
pub async fn platform_row_exists(
    conn: &impl ConnectionTrait,
    table: &'static str,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool> {
    debug_assert!(matches!(
        table,
        "users" | "establishments" | "companies" | "lead_sources"
    ));
    let sql = format!("SELECT 1 AS one FROM {table} WHERE tenant_id = $1 AND id = $2");
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            sql,
            [tenant_id.into(), id.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// A tenant's name (for mail), from the platform's tenants table.
pub async fn tenant_name(conn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<String> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT name FROM tenants WHERE id = $1",
            [tenant_id.into()],
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get::<String>("", "name").ok())
        .unwrap_or_default())
}

/// A user's email and name (for mail), from the platform's users table.
pub async fn user_mailbox(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Option<(String, String)>> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT email, name FROM users WHERE tenant_id = $1 AND id = $2 AND active = $3",
            [tenant_id.into(), user_id.into(), true.into()],
        ))
        .await?;
    Ok(row.and_then(|r| {
        Some((
            r.try_get::<String>("", "email").ok()?,
            r.try_get::<String>("", "name").ok()?,
        ))
    }))
}

/// The company of a user's establishment, for contacts kept to one company.
pub async fn user_company(conn: &impl ConnectionTrait, user: &TenantUser) -> Result<Option<Uuid>> {
    let Some(est) = user.establishment_id else {
        return Ok(None);
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT company_id FROM establishments WHERE tenant_id = $1 AND id = $2",
            [user.tenant_id.into(), est.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Uuid>("", "company_id").ok(),
        None => None,
    })
}

/// The contacts a caller may see at `scope`: own = assigned to them; establishment = of their
/// establishment (or assigned to them); tenant = all, whatever company they are kept to.
/// Below tenant scope, contacts kept to one company are seen only from that company's
/// establishments; a user attached to no establishment reaches only the shared contacts
/// assigned to them: having no establishment never widens the view.
pub fn visibility(user: &TenantUser, scope: Scope, company: Option<Uuid>) -> Condition {
    let reach = match scope {
        Scope::Tenant => return Condition::all(),
        Scope::Establishment => match user.establishment_id {
            Some(e) => Condition::any()
                .add(contact::Column::EstablishmentId.eq(e))
                .add(contact::Column::AssignedUserId.eq(user.user_id)),
            None => Condition::all().add(contact::Column::AssignedUserId.eq(user.user_id)),
        },
        Scope::Own => Condition::all().add(contact::Column::AssignedUserId.eq(user.user_id)),
    };
    // Without an establishment there is no company to share with: only shared contacts.
    let sharing = match (user.establishment_id, company) {
        (Some(_), Some(c)) => Condition::any()
            .add(contact::Column::CompanyId.is_null())
            .add(contact::Column::CompanyId.eq(c)),
        _ => Condition::all().add(contact::Column::CompanyId.is_null()),
    };
    Condition::all().add(reach).add(sharing)
}

/// Exactly what decides which contacts `user` sees at `scope` (see [`visibility`]), as text:
/// part of the key of every cached search, so two callers share a cached answer only when
/// they see the same contacts.
pub fn visibility_key(user: &TenantUser, scope: Scope, company: Option<Uuid>) -> String {
    let opt = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_else(|| "-".into());
    match scope {
        Scope::Tenant => "t".into(),
        Scope::Establishment => format!(
            "e:{}:{}:{}",
            opt(user.establishment_id),
            user.user_id,
            opt(company)
        ),
        Scope::Own => format!(
            "o:{}:{}:{}",
            opt(user.establishment_id),
            user.user_id,
            opt(company)
        ),
    }
}

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
    let (t, id) = (c.tenant_id, c.id);
    let emails = contact_email::Entity::find()
        .filter(contact_email::Column::TenantId.eq(t))
        .filter(contact_email::Column::ContactId.eq(id))
        .order_by_asc(contact_email::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(|e| e.email)
        .collect();
    let phones = contact_phone::Entity::find()
        .filter(contact_phone::Column::TenantId.eq(t))
        .filter(contact_phone::Column::ContactId.eq(id))
        .order_by_asc(contact_phone::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(|e| e.phone)
        .collect();
    let addresses = contact_address::Entity::find()
        .filter(contact_address::Column::TenantId.eq(t))
        .filter(contact_address::Column::ContactId.eq(id))
        .order_by_asc(contact_address::Column::Position)
        .all(conn)
        .await?;
    let groups = contact_group::Entity::find()
        .filter(contact_group::Column::TenantId.eq(t))
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
    tenant_id: Uuid,
    rows: Vec<contact::Model>,
) -> Result<Vec<Full>> {
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    let mut emails: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for e in contact_email::Entity::find()
        .filter(contact_email::Column::TenantId.eq(tenant_id))
        .filter(contact_email::Column::ContactId.is_in(ids.clone()))
        .order_by_asc(contact_email::Column::Position)
        .all(conn)
        .await?
    {
        emails.entry(e.contact_id).or_default().push(e.email);
    }
    let mut phones: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for p in contact_phone::Entity::find()
        .filter(contact_phone::Column::TenantId.eq(tenant_id))
        .filter(contact_phone::Column::ContactId.is_in(ids.clone()))
        .order_by_asc(contact_phone::Column::Position)
        .all(conn)
        .await?
    {
        phones.entry(p.contact_id).or_default().push(p.phone);
    }
    let mut groups: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for g in contact_group::Entity::find()
        .filter(contact_group::Column::TenantId.eq(tenant_id))
        .filter(contact_group::Column::ContactId.is_in(ids.clone()))
        .order_by_asc(contact_group::Column::Position)
        .all(conn)
        .await?
    {
        groups.entry(g.contact_id).or_default().push(g.name);
    }
    let mut addresses: BTreeMap<Uuid, Vec<contact_address::Model>> = BTreeMap::new();
    for a in contact_address::Entity::find()
        .filter(contact_address::Column::TenantId.eq(tenant_id))
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

/// A contact visible to `user` at `scope`, or 404 (missing, another tenant's, or out of reach).
pub async fn load_visible(
    conn: &impl ConnectionTrait,
    user: &TenantUser,
    id: Uuid,
    scope: Scope,
) -> Result<Full> {
    let c = find_visible(conn, user, id, scope)
        .await?
        .ok_or(Error::NotFound("contact"))?;
    complete(conn, c).await
}

/// The contact row if `user` may see it at `scope` (tenant, visibility and company sharing).
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    user: &TenantUser,
    id: Uuid,
    scope: Scope,
) -> Result<Option<contact::Model>> {
    let company = user_company(conn, user).await?;
    Ok(scoped(user.tenant_id)
        .filter(contact::Column::Id.eq(id))
        .filter(visibility(user, scope, company))
        .one(conn)
        .await?)
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
    tenant_id: Uuid,
    id: Uuid,
    d: &ContactData,
    existing: Option<&contact::Model>,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<contact::Model> {
    let am = contact::ActiveModel {
        tenant_id: Set(tenant_id),
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
    replace_children(conn, tenant_id, id, d).await?;
    Ok(model)
}

/// Inserts rows in multi-row statements, `per_statement` at a time (SQLite bounds the bound
/// parameters of one statement); no rows, no statement.
async fn insert_rows<A>(
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
    t: Uuid,
    id: Uuid,
    d: &ContactData,
) -> Result<()> {
    contact_email::Entity::delete_many()
        .filter(contact_email::Column::TenantId.eq(t))
        .filter(contact_email::Column::ContactId.eq(id))
        .exec(conn)
        .await?;
    contact_phone::Entity::delete_many()
        .filter(contact_phone::Column::TenantId.eq(t))
        .filter(contact_phone::Column::ContactId.eq(id))
        .exec(conn)
        .await?;
    contact_group::Entity::delete_many()
        .filter(contact_group::Column::TenantId.eq(t))
        .filter(contact_group::Column::ContactId.eq(id))
        .exec(conn)
        .await?;
    contact_address::Entity::delete_many()
        .filter(contact_address::Column::TenantId.eq(t))
        .filter(contact_address::Column::ContactId.eq(id))
        .exec(conn)
        .await?;
    let emails = d
        .emails
        .iter()
        .enumerate()
        .map(|(i, e)| contact_email::ActiveModel {
            tenant_id: Set(t),
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
            tenant_id: Set(t),
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
            tenant_id: Set(t),
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
            tenant_id: Set(t),
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
fn own_terms(f: &Full) -> BTreeMap<String, i32> {
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
/// statements (imports, benchmarks). Groups, addresses and module terms are not written:
/// reindex a contact to add module terms.
pub async fn insert_many(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    items: &[(Uuid, ContactData)],
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
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
    insert_rows(conn, contacts, 500).await?;
    insert_rows(conn, emails, 2000).await?;
    insert_rows(conn, phones, 2000).await?;
    insert_rows(conn, terms, 2000).await?;
    Ok(())
}

/// Rebuilds a contact's search terms, including those other modules contribute.
pub async fn reindex(
    app: &App,
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<()> {
    let Some(c) = scoped(tenant_id)
        .filter(contact::Column::Id.eq(id))
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let full = complete(txn, c).await?;
    // term -> (weight, contributing module); the contact's own fields win over a module's
    // identical term, so switching that module off never hides what the contact itself says.
    let mut terms: BTreeMap<String, (i32, &'static str)> = BTreeMap::new();
    // Only modules the tenant has contribute; a search also ignores the terms of a module
    // switched off later (see [`search`]), so toggling needs no reindex.
    let info = app.ports.directory.tenant_info(app, tenant_id).await?;
    for m in app.registry.available(info.as_ref()) {
        for t in m.contact_terms(app, txn, tenant_id, id).await? {
            let term = validate::fold(t.trim());
            if !term.is_empty() {
                terms.insert(term, (3, m.id()));
            }
        }
    }
    for (term, weight) in own_terms(&full) {
        terms.insert(term, (weight, ""));
    }
    contact_term::Entity::delete_many()
        .filter(contact_term::Column::TenantId.eq(tenant_id))
        .filter(contact_term::Column::ContactId.eq(id))
        .exec(txn)
        .await?;
    // One statement for all the terms: a contact write costs the same round trips whatever
    // its number of names, emails and phones.
    let rows = terms
        .into_iter()
        .map(|(term, (weight, module))| term_row(tenant_id, id, term, weight, module));
    insert_rows(txn, rows.collect(), 2000).await?;
    Ok(())
}

/// The registered modules the tenant lacks or switched off: their search terms are ignored.
pub async fn hidden_modules(app: &App, tenant_id: Uuid) -> Result<Vec<String>> {
    let info = app.ports.directory.tenant_info(app, tenant_id).await?;
    Ok(app
        .registry
        .modules()
        .filter(|m| !app.registry.is_available(*m, info.as_ref()))
        .map(|m| m.id().to_string())
        .collect())
}

fn term_row(
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

/// Ranked contact ids matching every token as a prefix of one of their terms, among the
/// contacts `visible` admits (`None`: all of the tenant's), ignoring terms contributed by the modules in `hidden_modules`
/// (those the tenant lacks or switched off). Each token is an index range scan on
/// `(tenant_id, term)`; exact term matches rank above prefixes. The visibility is part of the
/// query, so `limit` counts only contacts the caller may see.
pub async fn search(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    tokens: &[String],
    visible: Option<Condition>,
    hidden_modules: &[String],
    limit: u64,
) -> Result<Vec<Uuid>> {
    use sea_orm::sea_query::{
        Alias, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement, UnionType,
    };
    if tokens.is_empty() {
        return Ok(vec![]);
    }
    let terms = contact_term::Entity;
    let (term, weight, cid) = (
        contact_term::Column::Term,
        contact_term::Column::Weight,
        contact_term::Column::ContactId,
    );
    let mut hits: Option<SelectStatement> = None;
    for t in tokens.iter().take(6) {
        // Terms are ASCII no greater than 'z', so `t || '{'` bounds every term starting with t.
        let mut part = Query::select();
        part.column((terms, cid))
            .expr_as(
                Func::max(
                    Expr::case(
                        Expr::col((terms, term)).eq(t.as_str()),
                        Expr::col((terms, weight)).mul(2),
                    )
                    .finally(Expr::col((terms, weight))),
                ),
                Alias::new("score"),
            )
            .from(terms)
            .and_where(Expr::col((terms, contact_term::Column::TenantId)).eq(tenant_id))
            .and_where(Expr::col((terms, term)).gte(t.as_str()))
            .and_where(Expr::col((terms, term)).lt(format!("{t}{{")))
            .group_by_col((terms, cid));
        if !hidden_modules.is_empty() {
            part.and_where(
                Expr::col((terms, contact_term::Column::Module)).is_not_in(hidden_modules.to_vec()),
            );
        }
        hits = Some(match hits {
            None => part,
            Some(mut all) => {
                all.union(UnionType::All, part);
                all
            }
        });
    }
    let Some(hits) = hits else {
        return Ok(vec![]);
    };
    let n = tokens.len().min(6) as i64;
    // Contacts matching every token, with their score, before any visibility: one row each.
    let h = Alias::new("hits");
    let score = Alias::new("score");
    let ranked_score = Alias::new("ranked_score");
    let ranked = Query::select()
        .column((h.clone(), cid))
        .expr_as(
            Func::sum(Expr::col((h.clone(), score.clone()))),
            ranked_score.clone(),
        )
        .from_subquery(hits, h.clone())
        .group_by_col((h.clone(), cid))
        .and_having(Func::count(Expr::col((h.clone(), cid))).eq(n))
        .to_owned();
    let r = Alias::new("ranked");
    let mut query = Query::select();
    query
        .column((r.clone(), cid))
        .from_subquery(ranked, r.clone());
    // Below tenant scope, only the contacts the caller may see, so `limit` counts only those;
    // at tenant scope every contact is visible and the join would be work for nothing.
    if let Some(visible) = visible {
        query
            .join(
                JoinType::InnerJoin,
                contact::Entity,
                Condition::all()
                    .add(Expr::col((contact::Entity, contact::Column::TenantId)).eq(tenant_id))
                    .add(
                        Expr::col((contact::Entity, contact::Column::Id)).equals((r.clone(), cid)),
                    ),
            )
            .cond_where(visible);
    }
    query
        .order_by((r.clone(), ranked_score), Order::Desc)
        .order_by((r, cid), Order::Asc)
        .limit(limit);
    let rows = conn.query_all(&query).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.try_get::<Uuid>("", "contact_id").ok())
        .collect())
}

/// Likely duplicates of a contact, each with its reasons.
pub async fn duplicates(conn: &impl ConnectionTrait, f: &Full) -> Result<Vec<(Uuid, Vec<String>)>> {
    let t = f.contact.tenant_id;
    let mut found: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    let mut note = |id: Uuid, why: String| {
        if id != f.contact.id {
            let reasons = found.entry(id).or_default();
            if !reasons.contains(&why) {
                reasons.push(why);
            }
        }
    };
    if !f.emails.is_empty() {
        for e in contact_email::Entity::find()
            .filter(contact_email::Column::TenantId.eq(t))
            .filter(contact_email::Column::Email.is_in(f.emails.clone()))
            .all(conn)
            .await?
        {
            note(e.contact_id, "same_email".into());
        }
    }
    if !f.phones.is_empty() {
        for p in contact_phone::Entity::find()
            .filter(contact_phone::Column::TenantId.eq(t))
            .filter(contact_phone::Column::Phone.is_in(f.phones.clone()))
            .all(conn)
            .await?
        {
            note(p.contact_id, "same_phone".into());
        }
    }
    if let Some(n) = &f.contact.national_number {
        for c in scoped(t)
            .filter(contact::Column::NationalNumber.eq(n.clone()))
            .all(conn)
            .await?
        {
            note(c.id, "same_national_number".into());
        }
    }
    if let Some(v) = &f.contact.vat_number {
        for c in scoped(t)
            .filter(contact::Column::VatNumber.eq(v.clone()))
            .all(conn)
            .await?
        {
            note(c.id, "same_vat_number".into());
        }
    }
    // Similar name: every word of the name is a term of the other contact.
    let name_words = validate::words(&f.contact.display_name);
    if !name_words.is_empty() {
        for id in search(conn, t, &name_words, None, &[], 50).await? {
            let exact = contact_term::Entity::find()
                .filter(contact_term::Column::TenantId.eq(t))
                .filter(contact_term::Column::ContactId.eq(id))
                .filter(contact_term::Column::Term.is_in(name_words.clone()))
                .all(conn)
                .await?;
            let words: HashSet<&str> = exact.iter().map(|e| e.term.as_str()).collect();
            if name_words.iter().all(|w| words.contains(w.as_str())) {
                note(id, "similar_name".into());
            }
        }
    }
    Ok(found.into_iter().collect())
}

/// Folds `merged` into `survivor` inside `txn`: their emails, phones, groups and addresses
/// move over, empty fields of the survivor are filled from them, employees follow, every
/// module moves its records (core event), and the merged contacts are deleted.
pub async fn merge(
    app: &App,
    txn: &DatabaseTransaction,
    survivor: &Full,
    merged: &[Full],
    now: DateTime<Utc>,
) -> Result<contact::Model> {
    let t = survivor.contact.tenant_id;
    let mut c = survivor.contact.clone();
    let (mut emails, mut phones, mut groups) = (
        survivor.emails.clone(),
        survivor.phones.clone(),
        survivor.groups.clone(),
    );
    let mut addresses: Vec<AddressData> = survivor.addresses.iter().map(address_data).collect();
    for m in merged {
        let d = &m.contact;
        macro_rules! fill {
            ($($f:ident),*) => { $( if c.$f.is_none() { c.$f = d.$f.clone(); } )* };
        }
        fill!(
            title,
            first_name,
            last_name,
            company_name,
            national_number,
            vat_rate,
            vat_number,
            position,
            employer_id,
            birth_date,
            assigned_user_id,
            establishment_id
        );
        c.comments = match (&c.comments, &d.comments) {
            (Some(a), Some(b)) if a != b => Some(format!("{a}\n{b}")),
            (None, b) => b.clone(),
            (a, _) => a.clone(),
        };
        c.blocked |= d.blocked;
        if d.lifecycle == "customer" {
            c.lifecycle = "customer".into();
        }
        for (into, from) in [
            (&mut emails, &m.emails),
            (&mut phones, &m.phones),
            (&mut groups, &m.groups),
        ] {
            for v in from {
                if !into.contains(v) {
                    into.push(v.clone());
                }
            }
        }
        for a in m.addresses.iter().map(address_data) {
            if !addresses
                .iter()
                .any(|x| x.street == a.street && x.postal_code == a.postal_code && x.kind == a.kind)
            {
                addresses.push(AddressData {
                    is_default: false,
                    ..a
                });
            }
        }
    }
    let ids: Vec<Uuid> = merged.iter().map(|m| m.contact.id).collect();
    // Employees of a merged company now work for the survivor.
    contact::Entity::update_many()
        .col_expr(
            contact::Column::EmployerId,
            sea_orm::prelude::Expr::value(survivor.contact.id),
        )
        .filter(contact::Column::TenantId.eq(t))
        .filter(contact::Column::EmployerId.is_in(ids.clone()))
        .exec(txn)
        .await?;
    if c.employer_id.is_some_and(|e| ids.contains(&e)) {
        c.employer_id = None;
    }
    app.registry
        .dispatch(
            app,
            txn,
            &forecourt_core::events::Event::ContactsMerged {
                tenant_id: t,
                survivor: c.id,
                merged: ids.clone(),
            },
        )
        .await?;
    contact::Entity::delete_many()
        .filter(contact::Column::TenantId.eq(t))
        .filter(contact::Column::Id.is_in(ids))
        .exec(txn)
        .await?;
    let data = ContactData {
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
        assigned_user_id: c.assigned_user_id,
        establishment_id: c.establishment_id,
        company_id: c.company_id,
    };
    let model = write(txn, t, c.id, &data, Some(&survivor.contact), None, now).await?;
    reindex(app, txn, t, c.id).await?;
    Ok(model)
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
