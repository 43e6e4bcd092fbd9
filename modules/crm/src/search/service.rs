//! Contact search: the ranked, visible contact ids for a query, cached per tenant and
//! visibility (with the candidates of small answers, so search as you type reads the cache
//! after the first keystroke), and the complete contacts they name. Used by
//! `GET /contacts?q=`, `GET /search` and `forecourt bench search`.

use crate::{
    contacts::{
        entities::contact,
        store::Full,
        terms::{generation_key, hidden_modules},
        validate,
        visibility::{load_in_order, user_company, visibility},
    },
    search::{
        query,
        rank::{Candidate, MAX_TOKENS, best_first, narrower_than, rank},
    },
};
use forecourt_core::{
    App, Result,
    access::Scope,
    cache::CacheKey,
    context::TenantUser,
    tenancy::{Cx, Tenanted},
};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait};
use std::time::Duration;
use uuid::Uuid;

/// Exactly what decides which contacts `user` sees at `scope` (see [`visibility`]), as text:
/// part of the key of every cached search, so two callers share a cached answer only when
/// they see the same contacts.
pub fn visibility_key(user: &TenantUser, scope: Scope, company: Option<Uuid>) -> String {
    let opt = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_else(|| "-".into());
    // The teams widen the own reach: two members of different teams never share an answer.
    let teams = user
        .team_ids
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    match scope {
        Scope::Tenant => "t".into(),
        Scope::Establishment => format!(
            "e:{}:{}:{}:{teams}",
            opt(user.establishment_id),
            user.user_id,
            opt(company)
        ),
        Scope::Own => format!(
            "o:{}:{}:{}:{teams}",
            opt(user.establishment_id),
            user.user_id,
            opt(company)
        ),
    }
}

/// A cold search's answer.
pub struct Searched {
    /// Ranked contact ids, best first, at most the limit.
    pub ids: Vec<Uuid>,
    /// Every matching contact the caller may see with all its counting terms, when they are
    /// all known and few (at most [`KEEP`]): a longer query is answered from these.
    pub candidates: Option<Vec<Candidate>>,
}

/// The most candidates kept in the cache for the keystrokes that follow a query: enough for
/// any name once a few letters are typed, small enough to read and filter in well under a
/// millisecond.
pub const KEEP: usize = 200;

/// Ranked contact ids matching every token as a prefix of one of their terms, among the
/// contacts `visible` admits (`None`: all of the tenant's), ignoring terms contributed by the
/// modules in `hidden_modules` (those the tenant lacks or switched off).
///
/// The work follows the answer, not the tenant: a capped estimate of each token's matches
/// picks the rarest, whose index range on `(tenant_id, term)` is read in order (at most
/// [`query::CAP`] rows), every other token checked per row on `(tenant_id, contact_id,
/// term)`; when the caller sees fewer contacts than that, those drive instead. The visibility
/// is part of the statement, so `limit` (and the cap) count only contacts the caller may see.
/// Exact term matches rank above prefixes, then the oldest contact first.
pub async fn search(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    tokens: &[String],
    visible: Option<Condition>,
    hidden_modules: &[String],
    limit: u64,
) -> Result<Searched> {
    let tokens = &tokens[..tokens.len().min(MAX_TOKENS)];
    if tokens.is_empty() {
        return Ok(Searched {
            ids: vec![],
            candidates: Some(vec![]),
        });
    }
    let tenant_id = t.tenant().uuid();
    let (counts, nv) = query::estimate(conn, tenant_id, tokens, visible.as_ref()).await?;
    let driver = query::driver(&counts, nv);
    let found = query::candidates(
        conn,
        tenant_id,
        tokens,
        visible.as_ref(),
        hidden_modules,
        driver,
    )
    .await?;
    let candidates = if found.complete && found.scored.len() <= KEEP {
        let ids: Vec<Uuid> = found.scored.iter().map(|(id, _)| *id).collect();
        Some(query::terms(conn, tenant_id, &ids, hidden_modules).await?)
    } else {
        None
    };
    Ok(Searched {
        ids: best_first(found.scored, limit),
        candidates,
    })
}

/// How long a cached answer or candidate set lives (a write moves the generation on first).
const TTL: Duration = Duration::from_secs(60);

/// How many shorter queries a keystroke looks for in the cache (read at once).
const KEYSTROKES_BACK: usize = 12;

/// Ranked, visible contact ids for a query, from the cache when it can answer: the same query
/// and limit answered before, or a shorter query of the same words (the keystrokes before
/// this one) whose every match is cached with its terms, filtered and ranked in process.
/// Otherwise a cold [`search`], whose answer (and, when small and complete, its candidates)
/// is cached. Keys hold exactly what decides the answer; the cache is skipped, never
/// required, when it is unreachable.
pub async fn search_ids(app: &App, cx: &Cx, q: &str, limit: u64) -> Result<Vec<Uuid>> {
    search_ids_in(app, cx, q, limit, None).await
}

/// [`search_ids`] among the contacts assigned to `team` only, when given (the list's
/// `assigned_team_id` filter): the filter is part of the statement and of the cache keys.
pub async fn search_ids_in(
    app: &App,
    cx: &Cx,
    q: &str,
    limit: u64,
    team: Option<Uuid>,
) -> Result<Vec<Uuid>> {
    let mut tokens = validate::query_tokens(q);
    tokens.truncate(MAX_TOKENS);
    if tokens.is_empty() {
        return Ok(vec![]);
    }
    let (user, scope) = (cx.user(), cx.scope());
    let (company, hidden, generation) = tokio::try_join!(
        user_company(app, &app.db, user, scope),
        hidden_modules(app, cx),
        async { Ok(app.cache.count(&generation_key(cx)).await) },
    )?;
    // Exactly what decides which contacts may match: the tenant's generation (every write
    // moves it on), the visibility (scope, user, establishment, company) and the modules
    // whose terms count; then the words, and for a ranked page its limit.
    let space = format!(
        "{generation}:{}:{}:{}",
        visibility_key(user, scope, company),
        hidden.join(","),
        team.map(|t| t.to_string()).unwrap_or_default()
    );
    let key = |kind: &str, words: &[String]| {
        CacheKey::tenant(
            cx.tenant().uuid(),
            &format!("contacts:{kind}:{space}:{}", words.join(" ")),
        )
    };
    let answer_key = key(&format!("search:{limit}"), &tokens);
    let mut sets = vec![key("candidates", &tokens)];
    sets.extend(
        narrower_than(&tokens, KEYSTROKES_BACK)
            .iter()
            .map(|words| key("candidates", words)),
    );
    let (answer, cached_sets) = tokio::join!(
        app.cache.get::<Vec<Uuid>>(&answer_key),
        futures::future::join_all(sets.iter().map(|k| app.cache.get::<Vec<Candidate>>(k))),
    );
    if let Some(ids) = answer {
        return Ok(ids);
    }
    // The longest cached query first: it holds the fewest candidates.
    if let Some(candidates) = cached_sets.into_iter().flatten().next() {
        return Ok(rank(&candidates, &tokens, limit));
    }
    let mut visible = (scope != Scope::Tenant).then(|| visibility(user, scope, company));
    if let Some(t) = team {
        visible = Some(
            visible
                .unwrap_or_else(Condition::all)
                .add(contact::Column::AssignedTeamId.eq(t)),
        );
    }
    let found = search(&app.db, cx, &tokens, visible, &hidden, limit).await?;
    match &found.candidates {
        Some(c) => app.cache.set(&sets[0], c, TTL).await,
        None => app.cache.set(&answer_key, &found.ids, TTL).await,
    }
    Ok(found.ids)
}

/// The contacts matching `q` that the caller of `cx` may see, best first, complete: what a
/// search answers (`GET /contacts?q=`, `GET /search`, and `forecourt bench search`).
pub async fn search_contacts(app: &App, cx: &Cx, q: &str, limit: u64) -> Result<Vec<Full>> {
    search_contacts_in(app, cx, q, limit, None).await
}

/// [`search_contacts`] among the contacts assigned to `team` only, when given.
pub async fn search_contacts_in(
    app: &App,
    cx: &Cx,
    q: &str,
    limit: u64,
    team: Option<Uuid>,
) -> Result<Vec<Full>> {
    let ids = search_ids_in(app, cx, q, limit, team).await?;
    load_in_order(&app.db, cx, &ids).await
}
