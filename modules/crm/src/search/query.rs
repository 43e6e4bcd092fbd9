//! The statements of a cold contact search, on both backends: a capped estimate of each
//! token's matches (and of the contacts the caller may see), then the candidates read from
//! the rarest of them (or from the visible contacts, when those are fewer) with every other
//! token checked per candidate, then, for a small complete answer, the candidates' terms so
//! later keystrokes are answered from the cache.

use crate::{
    contacts::entities::{contact, contact_term},
    search::rank::{Candidate, fold_rows},
};
use forecourt_core::Result;
use sea_orm::{
    Condition, ConnectionTrait,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement},
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The most rows a search reads from its driving index range (and the cap of every estimate):
/// the work of a search is bounded by this, never by the size of the tenant. More matches
/// than this make the answer incomplete: the first rows in index order (exact terms first,
/// since a word sorts before its extensions, then by term and contact id) are ranked.
pub const CAP: u64 = 1000;

/// What drives a search: the index range of one token, or the contacts the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// The token at this position (the rarest).
    Token(usize),
    /// The visible contacts (fewer than [`CAP`] and fewer than any token's matches).
    Visible,
}

/// The ranked rows a cold search read, and whether they are every match.
pub struct Found {
    /// Contact ids and their total score.
    pub scored: Vec<(Uuid, i64)>,
    /// False when the driver had more than [`CAP`] matches.
    pub complete: bool,
}

/// `[token, token || '{')`: every term starting with `token` (terms are ASCII up to `z`).
fn range(token: &str) -> (String, String) {
    (token.to_string(), format!("{token}{{"))
}

/// The terms of `alias` for `token`, in the caller's tenant, of the modules that count.
fn token_terms(
    q: &mut SelectStatement,
    alias: &str,
    tenant_id: Uuid,
    token: &str,
    hidden: &[String],
) {
    let (lo, hi) = range(token);
    let col = |c: contact_term::Column| Expr::col((Alias::new(alias), c));
    q.and_where(col(contact_term::Column::TenantId).eq(tenant_id))
        .and_where(col(contact_term::Column::Term).gte(lo))
        .and_where(col(contact_term::Column::Term).lt(hi));
    if !hidden.is_empty() {
        q.and_where(col(contact_term::Column::Module).is_not_in(hidden.to_vec()));
    }
}

/// `CASE WHEN term = token THEN weight * 2 ELSE weight END` over `alias` (see
/// [`crate::search::rank::term_score`]).
fn score_expr(alias: &str, token: &str) -> Expr {
    let col = |c: contact_term::Column| Expr::col((Alias::new(alias), c));
    Expr::case(
        col(contact_term::Column::Term).eq(token),
        col(contact_term::Column::Weight).mul(2),
    )
    .finally(col(contact_term::Column::Weight))
    .into()
}

/// The terms of `token` of the contact that `of` (a column of the outer query) names.
fn terms_of(
    alias: &str,
    of: &Expr,
    tenant_id: Uuid,
    token: &str,
    hidden: &[String],
) -> SelectStatement {
    let mut q = Query::select();
    q.from_as(contact_term::Entity, Alias::new(alias))
        .and_where(Expr::col((Alias::new(alias), contact_term::Column::ContactId)).eq(of.clone()));
    token_terms(&mut q, alias, tenant_id, token, hidden);
    q
}

/// Capped counts, in one statement: for each token, its matching terms (up to [`CAP`]), and,
/// when `visible` is given, the contacts the caller may see (up to [`CAP`]). Each is an
/// index range read that stops at the cap, so this costs the same on any tenant.
pub async fn estimate(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    tokens: &[String],
    visible: Option<&Condition>,
) -> Result<(Vec<u64>, Option<u64>)> {
    let capped = |inner: SelectStatement| -> Expr {
        let count = Query::select()
            .expr(Func::count(Expr::col(Asterisk)))
            .from_subquery(inner, Alias::new("capped"))
            .to_owned();
        Expr::SubQuery(None, Box::new(count.into()))
    };
    let mut q = Query::select();
    for (i, token) in tokens.iter().enumerate() {
        // Module terms are not left out here: the estimate only picks the driver.
        let mut inner = Query::select();
        inner
            .expr(Expr::val(1))
            .from_as(contact_term::Entity, Alias::new("e"));
        token_terms(&mut inner, "e", tenant_id, token, &[]);
        inner.limit(CAP);
        q.expr_as(capped(inner), Alias::new(format!("n{i}")));
    }
    if let Some(v) = visible {
        let mut inner = Query::select();
        inner
            .expr(Expr::val(1))
            .from(contact::Entity)
            .and_where(Expr::col((contact::Entity, contact::Column::TenantId)).eq(tenant_id))
            .cond_where(v.clone())
            .limit(CAP);
        q.expr_as(capped(inner), Alias::new("nv"));
    }
    let Some(row) = conn.query_one(&q).await? else {
        return Ok((vec![CAP; tokens.len()], None));
    };
    let count = |name: &str| -> Result<u64> {
        Ok(u64::try_from(row.try_get::<i64>("", name)?).unwrap_or(0))
    };
    let counts = (0..tokens.len())
        .map(|i| count(&format!("n{i}")))
        .collect::<Result<Vec<_>>>()?;
    let nv = match visible {
        Some(_) => Some(count("nv")?),
        None => None,
    };
    Ok((counts, nv))
}

/// The driver: the visible contacts when they are fewer than [`CAP`] and than every token's
/// matches (a salesperson's own contacts among a large tenant's namesakes), else the rarest
/// token (the first of equals).
pub fn driver(counts: &[u64], visible: Option<u64>) -> Driver {
    let (rarest, fewest) = counts
        .iter()
        .enumerate()
        .min_by_key(|(i, n)| (**n, *i))
        .map(|(i, n)| (i, *n))
        .unwrap_or((0, CAP));
    match visible {
        Some(v) if v < CAP && v < fewest => Driver::Visible,
        _ => Driver::Token(rarest),
    }
}

/// The matching contacts the caller may see and their scores, read from `driver`: at most
/// [`CAP`] rows of it, every other token checked per row through the `(tenant_id,
/// contact_id, term)` index, the visibility inside the statement so the cap and the limit
/// count only what the caller may see.
pub async fn candidates(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    tokens: &[String],
    visible: Option<&Condition>,
    hidden: &[String],
    driver: Driver,
) -> Result<Found> {
    let mut q = Query::select();
    // The driver's contact id column, which every other token's check is pinned to.
    let of: Expr = match driver {
        Driver::Token(r) => {
            let t = Alias::new("t");
            let of = Expr::col((t.clone(), contact_term::Column::ContactId));
            q.expr_as(of.clone(), Alias::new("contact_id"))
                .from_as(contact_term::Entity, t.clone());
            token_terms(&mut q, "t", tenant_id, &tokens[r], hidden);
            if let Some(v) = visible {
                q.join(
                    JoinType::InnerJoin,
                    contact::Entity,
                    Condition::all()
                        .add(
                            Expr::col((contact::Entity, contact::Column::TenantId))
                                .equals((t.clone(), contact_term::Column::TenantId)),
                        )
                        .add(
                            Expr::col((contact::Entity, contact::Column::Id))
                                .equals((t.clone(), contact_term::Column::ContactId)),
                        ),
                )
                .cond_where(v.clone());
            }
            // The primary key's order: a word's exact term before its extensions.
            q.order_by((t.clone(), contact_term::Column::Term), Order::Asc)
                .order_by((t, contact_term::Column::ContactId), Order::Asc);
            of
        }
        Driver::Visible => {
            // Not aliased: the visibility condition names `contacts` columns.
            let of = Expr::col((contact::Entity, contact::Column::Id));
            q.expr_as(of.clone(), Alias::new("contact_id"))
                .from(contact::Entity)
                .and_where(Expr::col((contact::Entity, contact::Column::TenantId)).eq(tenant_id))
                .cond_where(visible.cloned().unwrap_or_else(Condition::all))
                .order_by((contact::Entity, contact::Column::Id), Order::Asc);
            of
        }
    };
    for (i, token) in tokens.iter().enumerate() {
        let name = Alias::new(format!("s{i}"));
        if driver == Driver::Token(i) {
            q.expr_as(score_expr("t", token), name);
            continue;
        }
        let alias = format!("o{i}");
        let mut exists = terms_of(&alias, &of, tenant_id, token, hidden);
        exists.expr(Expr::val(1));
        let mut best = terms_of(&alias, &of, tenant_id, token, hidden);
        best.expr(Func::max(score_expr(&alias, token)));
        q.and_where(Expr::exists(exists))
            .expr_as(Expr::SubQuery(None, Box::new(best.into())), name);
    }
    q.limit(CAP + 1);
    let rows = conn.query_all(&q).await?;
    let complete = rows.len() as u64 <= CAP;
    let mut read = Vec::with_capacity(rows.len());
    for row in rows.iter().take(CAP as usize) {
        let id: Uuid = row.try_get("", "contact_id")?;
        let scores = (0..tokens.len())
            .map(|i| {
                Ok(row
                    .try_get::<Option<i32>>("", &format!("s{i}"))?
                    .unwrap_or(0))
            })
            .collect::<Result<Vec<i32>>>()?;
        read.push((id, scores));
    }
    Ok(Found {
        scored: fold_rows(read),
        complete,
    })
}

/// Every counting term of `ids` (those of `hidden` modules left out), as candidates.
pub async fn terms(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
    hidden: &[String],
) -> Result<Vec<Candidate>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut q = Query::select();
    q.columns([
        contact_term::Column::ContactId,
        contact_term::Column::Term,
        contact_term::Column::Weight,
    ])
    .from(contact_term::Entity)
    .and_where(Expr::col(contact_term::Column::TenantId).eq(tenant_id))
    .and_where(Expr::col(contact_term::Column::ContactId).is_in(ids.to_vec()));
    if !hidden.is_empty() {
        q.and_where(Expr::col(contact_term::Column::Module).is_not_in(hidden.to_vec()));
    }
    let mut by: BTreeMap<Uuid, Vec<(String, i32)>> = ids.iter().map(|i| (*i, vec![])).collect();
    for row in conn.query_all(&q).await? {
        let id: Uuid = row.try_get("", "contact_id")?;
        let term: String = row.try_get("", "term")?;
        let weight: i32 = row.try_get("", "weight")?;
        by.entry(id).or_default().push((term, weight));
    }
    Ok(by
        .into_iter()
        .map(|(id, terms)| Candidate { id, terms })
        .collect())
}
