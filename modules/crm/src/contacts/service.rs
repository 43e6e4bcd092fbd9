//! Contact rules and writes. Every write is one unit of work: it checks the caller's reach,
//! writes the rows and their search terms, records the activity, and after the commit moves
//! the tenant's search generation on.

use crate::contacts::{
    entities::{contact, contact_term},
    validate,
    views::{ContactBody, ContactPatch, as_body, patched},
};
pub use crate::contacts::{
    input::{country_of, ensure_within, may_set_blocked, validate_body},
    read::{Full, complete, complete_many},
    status::{convert, count_in_status, reassign_status, started},
    store::{AddressData, ContactData, address_data, insert_many, write_claimed, write_full},
    terms::{generation_key, hidden_modules, index, reindex, searches_changed},
    visibility::{
        Conn, ContactFilter, find_visible, load_in_order, load_visible, scoped, user_company,
        visibility, visible_page, visible_to,
    },
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result, activity,
    events::Event,
    status_history::Cause,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect,
    prelude::Expr,
    sea_query::{ExprTrait, Func},
};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

fn snapshot(d: &ContactData) -> serde_json::Value {
    serde_json::to_value(d).unwrap_or_default()
}

/// Creates a contact from a body: validated, within the caller's reach, blocked only with
/// `contacts.blocked`/`write`.
pub async fn create(app: &App, cx: &Cx, body: ContactBody) -> Result<Full> {
    // Creating a contact blocked needs the right; explicitly not blocked is the default.
    let sets_blocked = body.blocked == Some(true);
    let country = country_of(app, cx).await?;
    let data = validate_body(app, &app.db, cx.user(), body, &country, None).await?;
    ensure_within(cx, &data, None)?;
    if sets_blocked {
        may_set_blocked(app, &app.db, cx.user(), None, &data).await?;
    }
    let id = Uuid::now_v7();
    let mut uow = Uow::begin(app, cx).await?;
    let full = write_full(
        uow.txn(),
        &uow,
        id,
        &data,
        None,
        Some(cx.user_id()),
        uow.now(),
    )
    .await?;
    index(app, uow.txn(), &uow, &full).await?;
    started(
        uow.txn(),
        &uow,
        id,
        &data,
        (Some(cx.user_id()), uow.now(), Cause::User),
    )
    .await?;
    uow.record(Activity::new("contact", id, "created").changes(snapshot(&data)))
        .await?;
    uow.after_commit(AfterCommit::Bump(generation_key(&uow)));
    uow.commit().await?;
    Ok(full)
}

/// Applies `patch` to a contact the caller may write. With `if_match` naming another version
/// than the stored one, 412 and nothing changes; a concurrent writer that got there first
/// also makes it 412 (the version claim).
pub async fn update(
    app: &App,
    cx: &Cx,
    id: Uuid,
    if_match: Option<&str>,
    patch: ContactPatch,
) -> Result<Full> {
    let mut uow = Uow::begin(app, cx).await?;
    let current = load_visible(app, uow.txn(), cx, id).await?;
    if let Some(m) = if_match
        && !forecourt_core::http::if_match(m, current.contact.version)
    {
        return Err(Error::PreconditionFailed);
    }
    let before = ContactData::from(&current);
    // Only a change of the flag needs the right: a client sending back the contact it
    // read (blocked or not) changes nothing.
    let sets_blocked = patch.blocked.is_some_and(|b| b != current.contact.blocked);
    let country = country_of(app, cx).await?;
    let body = patched(as_body(&current), patch);
    let data = validate_body(
        app,
        uow.txn(),
        cx.user(),
        body,
        &country,
        Some(&current.contact),
    )
    .await?;
    ensure_within(cx, &data, current.contact.assigned_team_id)?;
    if sets_blocked {
        may_set_blocked(app, uow.txn(), cx.user(), Some(id), &data).await?;
    }
    // The claim makes concurrent writers conflict instead of silently overwriting each other;
    // the row's new values go in the claim's own statement.
    let full = write_claimed(uow.txn(), &uow, &data, &current, uow.now())
        .await
        .map_err(|e| match e {
            // Another writer committed first: the contact changed since it was read.
            Error::Conflict {
                kind: "write_conflict",
                ..
            } => Error::PreconditionFailed,
            other => other,
        })?
        .ok_or(Error::PreconditionFailed)?;
    index(app, uow.txn(), &uow, &full).await?;
    let changes = activity::diff(&snapshot(&before), &snapshot(&data));
    uow.record(Activity::new("contact", id, "updated").changes(changes))
        .await?;
    uow.after_commit(AfterCommit::Bump(generation_key(&uow)));
    uow.commit().await?;
    Ok(full)
}

/// Deletes a contact the caller may delete; its employees keep existing without an employer.
pub async fn delete(app: &App, cx: &Cx, id: Uuid) -> Result<()> {
    let mut uow = Uow::begin(app, cx).await?;
    let current = load_visible(app, uow.txn(), cx, id).await?;
    contact::Entity::update_in(&uow)
        .col_expr(
            contact::Column::EmployerId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(contact::Column::EmployerId.eq(id))
        .exec(uow.txn())
        .await?;
    contact::Entity::delete_in(&uow)
        .filter(contact::Column::Id.eq(id))
        .exec(uow.txn())
        .await?;
    uow.record(
        Activity::new("contact", id, "deleted")
            .changes(json!({"display_name": current.contact.display_name})),
    )
    .await?;
    uow.after_commit(AfterCommit::Bump(generation_key(&uow)));
    uow.commit().await
}

/// Likely duplicates of a contact the caller may see, among the contacts the caller may see,
/// each with its reasons, most reasons first.
pub async fn duplicates_of(app: &App, cx: &Cx, id: Uuid) -> Result<Vec<(Full, Vec<String>)>> {
    let full = load_visible(app, &app.db, cx, id).await?;
    let mut found = duplicates(&app.db, &full).await?;
    found.sort_by_key(|(_, reasons)| std::cmp::Reverse(reasons.len()));
    let ids: Vec<Uuid> = found.iter().map(|(i, _)| *i).collect();
    let visible = scoped(cx)
        .filter(contact::Column::Id.is_in(ids.clone()))
        .filter(visible_to(app, &app.db, cx).await?)
        .all(&app.db)
        .await?;
    let visible_ids: Vec<Uuid> = ids
        .into_iter()
        .filter(|i| visible.iter().any(|v| v.id == *i))
        .collect();
    let mut out = Vec::new();
    for f in load_in_order(&app.db, cx, &visible_ids).await? {
        let reasons = found
            .iter()
            .find(|(i, _)| *i == f.contact.id)
            .map(|(_, r)| r.clone())
            .unwrap_or_default();
        out.push((f, reasons));
    }
    Ok(out)
}

/// Likely duplicates of a contact, each with its reasons.
async fn duplicates(conn: &impl ConnectionTrait, f: &Full) -> Result<Vec<(Uuid, Vec<String>)>> {
    let t = forecourt_core::tenancy::TenantId::new(f.contact.tenant_id);
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
        for e in crate::contacts::entities::contact_email::Entity::scoped(&t)
            .filter(crate::contacts::entities::contact_email::Column::Email.is_in(f.emails.clone()))
            .all(conn)
            .await?
        {
            note(e.contact_id, "same_email".into());
        }
    }
    if !f.phones.is_empty() {
        for p in crate::contacts::entities::contact_phone::Entity::scoped(&t)
            .filter(crate::contacts::entities::contact_phone::Column::Phone.is_in(f.phones.clone()))
            .all(conn)
            .await?
        {
            note(p.contact_id, "same_phone".into());
        }
    }
    if let Some(n) = &f.contact.national_number {
        for c in scoped(&t)
            .filter(contact::Column::NationalNumber.eq(n.clone()))
            .all(conn)
            .await?
        {
            note(c.id, "same_national_number".into());
        }
    }
    if let Some(v) = &f.contact.vat_number {
        for c in scoped(&t)
            .filter(contact::Column::VatNumber.eq(v.clone()))
            .all(conn)
            .await?
        {
            note(c.id, "same_vat_number".into());
        }
    }
    // Similar name: every word of the name is a whole term of the other contact (the first 50
    // such contacts are enough to point at a duplicate).
    let mut name_words = validate::words(&f.contact.display_name);
    name_words.sort();
    name_words.dedup();
    if !name_words.is_empty() {
        let n = name_words.len() as i64;
        let similar: Vec<Uuid> = contact_term::Entity::scoped(&t)
            .select_only()
            .column(contact_term::Column::ContactId)
            .filter(contact_term::Column::Term.is_in(name_words))
            .group_by(contact_term::Column::ContactId)
            .having(Func::count(Expr::col(contact_term::Column::ContactId)).eq(n))
            .order_by_asc(contact_term::Column::ContactId)
            .limit(50)
            .into_tuple()
            .all(conn)
            .await?;
        for id in similar {
            note(id, "similar_name".into());
        }
    }
    Ok(found.into_iter().collect())
}

/// Merges `duplicates` into the contact `id`, in one unit of work: the caller needs `write`
/// (`cx`) on the survivor and `delete` (`deleter`) on the duplicates. A block is kept: the
/// result is blocked when any of them was.
pub async fn merge(
    app: &App,
    cx: &Cx,
    deleter: &Cx,
    id: Uuid,
    duplicates: &[Uuid],
) -> Result<Full> {
    if duplicates.is_empty() {
        return Err(Error::invalid(
            "duplicates",
            msg!("name at least one contact to merge"),
        ));
    }
    if duplicates.contains(&id) {
        return Err(Error::invalid(
            "duplicates",
            msg!("a contact cannot be merged into itself"),
        ));
    }
    let mut uow = Uow::begin(app, cx).await?;
    let survivor = load_visible(app, uow.txn(), cx, id).await?;
    let mut merged = Vec::new();
    for d in duplicates {
        if merged.iter().any(|m: &Full| m.contact.id == *d) {
            continue;
        }
        merged.push(load_visible(app, uow.txn(), deleter, *d).await?);
    }
    let full = fold(app, &uow, &survivor, &merged).await?;
    let ids: Vec<Uuid> = merged.iter().map(|m| m.contact.id).collect();
    uow.record(Activity::new("contact", id, "merged").changes(json!({"merged": ids})))
        .await?;
    for m in &merged {
        uow.record(
            Activity::new("contact", m.contact.id, "merged_into")
                .changes(json!({"survivor": id, "display_name": m.contact.display_name})),
        )
        .await?;
    }
    uow.after_commit(AfterCommit::Bump(generation_key(&uow)));
    uow.commit().await?;
    Ok(full)
}

/// Folds `merged` into `survivor`: their emails, phones, groups and addresses move over,
/// empty fields of the survivor are filled from them, employees follow, every module moves
/// its records (core event), and the merged contacts are deleted.
async fn fold(app: &App, uow: &Uow<'_>, survivor: &Full, merged: &[Full]) -> Result<Full> {
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
            assigned_team_id,
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
    contact::Entity::update_in(uow)
        .col_expr(
            contact::Column::EmployerId,
            Expr::value(survivor.contact.id),
        )
        .filter(contact::Column::EmployerId.is_in(ids.clone()))
        .exec(uow.txn())
        .await?;
    if c.employer_id.is_some_and(|e| ids.contains(&e)) {
        c.employer_id = None;
    }
    uow.emit(&Event::ContactsMerged {
        tenant_id: uow.tenant().uuid(),
        survivor: c.id,
        merged: ids.clone(),
    })
    .await?;
    contact::Entity::delete_in(uow)
        .filter(contact::Column::Id.is_in(ids))
        .exec(uow.txn())
        .await?;
    let data = ContactData::of_row(&c, emails, phones, addresses, groups);
    let full = write_full(uow.txn(), uow, c.id, &data, Some(survivor), None, uow.now()).await?;
    reindex(app, uow.txn(), uow, c.id).await?;
    Ok(full)
}

/// What the tenant's enabled modules add to a single contact read, by module id.
pub async fn extensions(app: &App, cx: &Cx, id: Uuid) -> Result<serde_json::Value> {
    let tenant = cx.tenant().uuid();
    let Some(info) = app.ports.directory.tenant_info(app, tenant).await? else {
        return Ok(json!({}));
    };
    // A read: each available module answers on the pool, no transaction around it.
    let mut out = serde_json::Map::new();
    for m in app.registry.available(Some(&info)) {
        if let Some(v) = m
            .contact_extension(app, (&app.db).into(), tenant, id)
            .await?
        {
            out.insert(m.id().to_string(), v);
        }
    }
    Ok(serde_json::Value::Object(out))
}

/// The tenant's display name (for mail); empty when unknown.
pub async fn tenant_name(app: &App, conn: &impl Conn, t: &impl Tenanted) -> Result<String> {
    app.ports
        .directory
        .tenant_name(conn.executor(), t.tenant())
        .await
}

/// An active user's email and name (for mail), `None` for an unknown or deactivated user.
pub async fn user_mailbox(
    app: &App,
    conn: &impl Conn,
    t: &impl Tenanted,
    user_id: Uuid,
) -> Result<Option<(String, String)>> {
    Ok(app
        .ports
        .directory
        .mailbox(conn.executor(), t.tenant(), user_id)
        .await?
        .map(|m| (m.email, m.name)))
}

/// Contacts as records assigned to teams: a team still holding some cannot be deleted.
pub struct ContactTeams;

#[async_trait::async_trait]
impl forecourt_core::ports::teams::TeamUsers for ContactTeams {
    fn kind(&self) -> &'static str {
        "contacts"
    }

    async fn count(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant_id: Uuid,
        team_id: Uuid,
    ) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(scoped(&forecourt_core::tenancy::TenantId::new(tenant_id))
            .filter(contact::Column::AssignedTeamId.eq(team_id))
            .count(txn)
            .await?)
    }
}
