//! Contact search: the ranked, visible contact ids for a query, cached per tenant and
//! visibility, and the complete contacts they name. Used by `GET /contacts?q=`, `GET /search`
//! and `forecourt bench search`.

use crate::contacts::{
    entities::{contact, contact_term},
    store::Full,
    terms::{generation_key, hidden_modules},
    validate,
    visibility::{load_in_order, user_company, visibility},
};
use forecourt_core::{
    App, Result,
    access::Scope,
    cache::CacheKey,
    context::TenantUser,
    tenancy::{Cx, Tenanted},
};
use sea_orm::{Condition, ConnectionTrait};
use std::time::Duration;
use uuid::Uuid;

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

/// Ranked contact ids matching every token as a prefix of one of their terms, among the
/// contacts `visible` admits (`None`: all of the tenant's), ignoring terms contributed by the
/// modules in `hidden_modules` (those the tenant lacks or switched off). Each token is an index range scan on
/// `(tenant_id, term)`; exact term matches rank above prefixes. The visibility is part of the
/// query, so `limit` counts only contacts the caller may see.
pub async fn search(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
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
    let tenant_id = t.tenant().uuid();
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

/// Ranked, visible contact ids for a query, cached per tenant, visibility and query; the
/// cache is skipped (never required) when it is unreachable.
async fn search_ids(app: &App, cx: &Cx, q: &str, limit: u64) -> Result<Vec<Uuid>> {
    let tokens = validate::query_tokens(q);
    if tokens.is_empty() {
        return Ok(vec![]);
    }
    let (user, scope) = (cx.user(), cx.scope());
    let company = user_company(app, &app.db, user, scope).await?;
    let hidden = hidden_modules(app, cx).await?;
    let generation = app.cache.count(&generation_key(cx)).await;
    // The key holds exactly what decides the answer: the visibility (scope, user,
    // establishment, company), the modules whose terms count, the limit and the words.
    let key = CacheKey::tenant(
        cx.tenant().uuid(),
        &format!(
            "contacts:search:{generation}:{}:{}:{limit}:{}",
            visibility_key(user, scope, company),
            hidden.join(","),
            tokens.join(" ")
        ),
    );
    if let Some(ids) = app.cache.get::<Vec<Uuid>>(&key).await {
        return Ok(ids);
    }
    let visible = (scope != Scope::Tenant).then(|| visibility(user, scope, company));
    let ids = search(&app.db, cx, &tokens, visible, &hidden, limit).await?;
    app.cache.set(&key, &ids, Duration::from_secs(60)).await;
    Ok(ids)
}

/// The contacts matching `q` that the caller of `cx` may see, best first, complete: what a
/// search answers (`GET /contacts?q=`, `GET /search`, and `forecourt bench search`).
pub async fn search_contacts(app: &App, cx: &Cx, q: &str, limit: u64) -> Result<Vec<Full>> {
    let ids = search_ids(app, cx, q, limit).await?;
    load_in_order(&app.db, cx, &ids).await
}
