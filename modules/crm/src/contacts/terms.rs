//! A contact's search terms: its own fields' and those the tenant's modules contribute, and
//! the generation that every cached search of the tenant is keyed by.

use crate::contacts::{
    entities::{contact, contact_term},
    read::Full,
    store::{complete, insert_rows, own_terms, term_row},
    validate,
};
use forecourt_core::{
    App, Result,
    cache::CacheKey,
    tenancy::{TenantScoped, Tenanted},
};
use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The cache key of a tenant's search generation, part of every cached search's key: a
/// write bumps it after its commit (`AfterCommit::Bump`), which makes every cached search of
/// the tenant stale.
pub fn generation_key(t: &impl Tenanted) -> CacheKey {
    CacheKey::tenant(t.tenant().uuid(), "contacts:generation")
}

/// Invalidates every cached contact search of the tenant by moving its generation on, for
/// writes that committed outside a unit of work of this crate (other modules, through the
/// contact port).
pub async fn searches_changed(app: &App, t: &impl Tenanted) {
    app.cache
        .incr(
            &generation_key(t),
            std::time::Duration::from_secs(30 * 24 * 3600),
        )
        .await;
}

/// Rebuilds a contact's search terms, including those other modules contribute, reading the
/// contact first; a write that holds what it wrote calls [`index`] instead.
pub async fn reindex(
    app: &App,
    txn: &DatabaseTransaction,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<()> {
    let Some(c) = contact::Entity::scoped(t)
        .filter(contact::Column::Id.eq(id))
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    index(app, txn, t, &complete(txn, c).await?).await
}

/// Rebuilds the search terms of a contact as just written (`full`), without reading it back.
pub async fn index(
    app: &App,
    txn: &DatabaseTransaction,
    t: &impl Tenanted,
    full: &Full,
) -> Result<()> {
    let tenant_id = t.tenant().uuid();
    let id = full.contact.id;
    // term -> (weight, contributing module); the contact's own fields win over a module's
    // identical term, so switching that module off never hides what the contact itself says.
    let mut terms: BTreeMap<String, (i32, &'static str)> = BTreeMap::new();
    // Only modules the tenant has contribute; a search also ignores the terms of a module
    // switched off later (see `search::service::search`), so toggling needs no reindex.
    let info = app.ports.directory.tenant_info(app, tenant_id).await?;
    for m in app.registry.available(info.as_ref()) {
        for raw in m.contact_terms(app, txn, tenant_id, id).await? {
            let term = validate::fold(raw.trim());
            if !term.is_empty() {
                terms.insert(term, (3, m.id()));
            }
        }
    }
    for (term, weight) in own_terms(full) {
        terms.insert(term, (weight, ""));
    }
    contact_term::Entity::delete_in(t)
        .filter(contact_term::Column::ContactId.eq(id))
        .exec(txn)
        .await?;
    // One statement for all the terms: a contact write costs the same round trips whatever
    // its number of names, emails and phones.
    let rows = terms
        .into_iter()
        .map(|(term, (weight, module))| term_row(tenant_id, id, term, weight, module));
    insert_rows(txn, rows.collect()).await?;
    Ok(())
}

/// The registered modules the tenant lacks or switched off: their search terms are ignored.
pub async fn hidden_modules(app: &App, t: &impl Tenanted) -> Result<Vec<String>> {
    let info = app
        .ports
        .directory
        .tenant_info(app, t.tenant().uuid())
        .await?;
    Ok(app
        .registry
        .modules()
        .filter(|m| !app.registry.is_available(*m, info.as_ref()))
        .map(|m| m.id().to_string())
        .collect())
}
