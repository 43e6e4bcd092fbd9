//! `forecourt bench search`: contact search on many tenants of uneven size, cold and cached,
//! as an admin and as an own-scope salesperson, beside reading one contact by id in the same
//! run; and a small tenant's p99 as the number of tenants grows.

use forecourt_core::{
    App,
    access::{Action, Scope},
    authz::{Grant, add_grant, remove_grant},
    context::TenantUser,
    tenancy::{Cx, TenantId},
    uow::{AfterCommit, Uow},
};
use forecourt_crm::{
    contacts::service::{self, ContactData},
    search::service::{search_contacts, search_ids},
};
use forecourt_tenants::{
    platform::{Onboarded, onboard},
    users::service::{TakenElsewhere, insert_user},
};
use futures::StreamExt;
use std::{fmt::Write, time::Instant};
use uuid::Uuid;

/// The sizes of one run.
pub struct SearchBench {
    /// Tenants the contacts are spread over.
    pub tenants: usize,
    /// Contacts in all.
    pub contacts: usize,
    /// Samples per measurement.
    pub iterations: usize,
    /// Tenant counts at which the small tenant is measured (tiny tenants are added between).
    pub sweep: Vec<usize>,
}

const FIRST: &[&str] = &[
    "Marie", "Jean", "Anne", "Luc", "Sophie", "Pieter", "Els", "Koen", "Inès", "Thomas", "Léa",
    "Bart", "Nathalie", "Wim", "Chloé", "Jan", "Hélène", "Stijn", "Zoë", "Gérard", "Emma", "Lucas",
    "Olivia", "Noah", "Louise", "Arthur", "Mila", "Jules", "Nora", "Victor", "Lotte", "Maxime",
    "Julie", "Simon", "Laura", "Dries", "Sarah", "Tom", "Eline", "Kevin", "Ann", "Dirk", "Hilde",
    "Marc", "Linda", "Patrick", "Karin", "Philippe", "Isabelle", "Michel", "Martine", "Frank",
    "Griet", "Yves", "Valérie", "Geert", "Ingrid", "Benoît", "Chantal", "Rudi",
];
const LAST: &[&str] = &[
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Simon",
    "Ménard",
    "Lefèvre",
    "Vermeulen",
    "Desmet",
    "Leclercq",
    "Van Damme",
    "Michiels",
    "Renard",
    "Hermans",
    "Aerts",
    "Fontaine",
    "Pauwels",
    "Dumont",
    "Laurent",
    "Leroy",
    "De Backer",
    "Segers",
    "Cools",
    "Smets",
    "Van den Broeck",
    "Jansen",
    "Lemaire",
    "Denis",
    "Bogaert",
    "Verstraete",
    "Lenaerts",
    "Declercq",
    "Moreau",
    "Stevens",
    "Van Dyck",
    "Maertens",
    "Mathieu",
    "Wuyts",
    "Dierickx",
    "Vandenberghe",
    "Coppens",
    "Nys",
    "Thys",
    "Hendrickx",
    "Gerard",
    "Charlier",
    "Baert",
];
/// Syllables of the long tail of surnames beyond the common ones above.
const SYLLABLES: &[&str] = &[
    "ba", "de", "ke", "lo", "ma", "ni", "ro", "su", "ta", "vi", "wa", "ze", "an", "er", "ol", "ij",
    "en", "ck", "ts", "ou",
];
const DOMAINS: &[&str] = &[
    "example.be",
    "telenet.be",
    "skynet.be",
    "proximus.be",
    "gmail.com",
];

/// splitmix64: a seeded sequence, so every run draws the same data.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A name distribution like a real population's: rank r drawn with weight 1 / (r + flat),
/// so the commonest name is a few percent of people and most names are rare.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(ranks: usize, flat: f64) -> Self {
        let mut acc = 0.0;
        Self(
            (0..ranks)
                .map(|r| {
                    acc += 1.0 / (r as f64 + flat);
                    acc
                })
                .collect(),
        )
    }
    fn draw(&self, d: &mut Draw) -> usize {
        let total = self.0.last().copied().unwrap_or(1.0);
        let u = (d.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.0.partition_point(|c| *c < u).min(self.0.len() - 1)
    }
}

fn synthetic(common: &[&str], rank: usize) -> String {
    if let Some(n) = common.get(rank) {
        return (*n).to_string();
    }
    let n = SYLLABLES.len();
    let mut s: String = [rank % n, rank / n % n, rank / (n * n) % n]
        .iter()
        .map(|i| SYLLABLES[*i])
        .collect();
    if rank >= n * n * n / 2 {
        s.push_str(SYLLABLES[rank / (n * n * n) % n]);
    }
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Draws people: names, one email and one phone each (phones unique across the run).
struct People {
    draw: Draw,
    first: Zipf,
    last: Zipf,
    next_phone: u64,
}

impl People {
    fn new() -> Self {
        Self {
            draw: Draw(11),
            first: Zipf::new(300, 5.0),
            last: Zipf::new(20_000, 10.0),
            next_phone: 0,
        }
    }

    fn person(&mut self, assigned: Uuid, establishment: Uuid) -> ContactData {
        let first = synthetic(FIRST, self.first.draw(&mut self.draw));
        let last = synthetic(LAST, self.last.draw(&mut self.draw));
        let domain = DOMAINS[self.draw.below(DOMAINS.len())];
        self.next_phone += 1;
        let n = self.next_phone;
        let fold = forecourt_crm::contacts::validate::fold;
        ContactData {
            kind: "person".into(),
            title: None,
            emails: vec![format!(
                "{}.{}.{n}@{domain}",
                fold(&first),
                forecourt_crm::contacts::validate::words(&last).join("")
            )],
            first_name: Some(first),
            last_name: Some(last),
            company_name: None,
            national_number: None,
            // Mobile numbers, +32 47x xxx xxx, one per contact of the run.
            phones: vec![format!("+3247{:07}", n % 10_000_000)],
            addresses: vec![],
            vat_rate: None,
            vat_number: None,
            position: None,
            language: None,
            employer_id: None,
            birth_date: None,
            groups: vec![],
            comments: None,
            blocked: false,
            lifecycle: "prospect".into(),
            prospect_status: Some("new".into()),
            assigned_user_id: Some(assigned),
            assigned_team_id: None,
            establishment_id: Some(establishment),
            company_id: None,
        }
    }
}

fn err(e: forecourt_core::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// A real tenant, onboarded as the platform does it (no password: nobody logs in to it).
async fn tenant(app: &App, i: usize) -> anyhow::Result<Onboarded> {
    let slug = Uuid::now_v7().simple().to_string();
    onboard(
        app,
        None,
        &crate::bench::onboarding(
            format!("Search bench {i} {slug}"),
            format!("search-{slug}@example.be"),
            None,
        ),
    )
    .await
    .map_err(err)
}

/// Onboards `n` tenants, a few at a time on PostgreSQL (SQLite writes one at a time).
async fn tenants(app: &App, n: usize) -> anyhow::Result<Vec<Onboarded>> {
    let started = Instant::now();
    let in_flight = if forecourt_core::db::is_postgres(&app.db) {
        4
    } else {
        1
    };
    let out = futures::stream::iter(0..n)
        .map(|i| tenant(app, i))
        .buffer_unordered(in_flight)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    eprintln!(
        "onboarded {n} tenants in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

fn admin(t: &Onboarded) -> TenantUser {
    TenantUser {
        tenant_id: t.tenant_id,
        user_id: t.admin_user_id,
        establishment_id: Some(t.establishment_id),
        team_ids: vec![],
    }
}

/// Seeds `n` contacts into `t` through the bulk path, 10,000 per transaction; one in
/// `every` (if any) assigned to `other` instead of the admin. Keeps a sample of them.
async fn seed(
    app: &App,
    people: &mut People,
    t: &Onboarded,
    n: usize,
    other: Option<(Uuid, usize)>,
    sample: &mut Vec<ContactData>,
) -> anyhow::Result<()> {
    let user = admin(t);
    for start in (0..n).step_by(10_000) {
        let batch: Vec<(Uuid, ContactData)> = (start..(start + 10_000).min(n))
            .map(|i| {
                let owner = match other {
                    Some((o, every)) if i % every == 0 => o,
                    _ => user.user_id,
                };
                (Uuid::now_v7(), people.person(owner, t.establishment_id))
            })
            .collect();
        // Every 97th contact is kept for the queries (97: prime, so owners mix in).
        sample.extend(batch.iter().step_by(97).map(|(_, d)| d.clone()));
        let txn = forecourt_core::db::begin(&app.db).await?;
        service::insert_many(&txn, &user, &batch, Some(user.user_id), app.clock.now())
            .await
            .map_err(err)?;
        txn.commit().await?;
    }
    Ok(())
}

/// Contacts per tenant: one of 20% of them, five of 2%, the rest spread unevenly (0.5× to
/// 1.5× the mean) over the others. One tenant takes everything.
fn sizes(tenants: usize, contacts: usize) -> Vec<usize> {
    if tenants <= 1 {
        return vec![contacts];
    }
    let few = 5.min(tenants - 1);
    let mut out = vec![contacts / 5];
    out.extend(std::iter::repeat_n(contacts / 50, few));
    let rest = contacts.saturating_sub(out.iter().sum());
    let many = tenants - 1 - few;
    if many == 0 {
        out[0] += rest;
        return out;
    }
    let weights: Vec<usize> = (0..many).map(|i| 50 + (i * 37) % 101).collect();
    let total: usize = weights.iter().sum();
    let mut given = 0;
    for (i, w) in weights.iter().enumerate() {
        let share = if i + 1 == many {
            rest - given
        } else {
            rest * w / total
        };
        given += share;
        out.push(share);
    }
    out
}

/// p50 and p99 of samples, in µs.
struct Stats {
    p50: f64,
    p99: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        p50: at(0.5),
        p99: at(0.99),
    }
}

/// Times `call` `iterations` times after a few untimed warm-up calls; `before` runs
/// untimed before each call (the cold measurements move the search generation on there).
async fn time<B, BF, C, CF>(iterations: usize, before: B, call: C) -> anyhow::Result<Stats>
where
    B: Fn(usize) -> BF,
    BF: std::future::Future<Output = ()>,
    C: Fn(usize) -> CF,
    CF: std::future::Future<Output = anyhow::Result<()>>,
{
    for i in 0..3 {
        before(i).await;
        call(i).await?;
    }
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        before(i).await;
        let start = Instant::now();
        call(i).await?;
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    Ok(stats(samples))
}

/// Cold (the tenant's search generation moved on before each call) and cached (the same
/// query again) for ids only and for the complete contacts, the query `q(i)` at call i.
async fn cold_and_cached(
    app: &App,
    cx: &Cx,
    iterations: usize,
    q: impl Fn(usize) -> String,
) -> anyhow::Result<[Stats; 4]> {
    let q = &q;
    let bump = |_| async { service::searches_changed(app, cx).await };
    let warm = |i| async move {
        let _ = search_ids(app, cx, &q(i), 20).await;
    };
    let ids = |i| async move {
        search_ids(app, cx, &q(i), 20).await.map_err(err)?;
        Ok(())
    };
    let full = |i| async move {
        search_contacts(app, cx, &q(i), 20).await.map_err(err)?;
        Ok(())
    };
    Ok([
        time(iterations, bump, ids).await?,
        time(iterations, warm, ids).await?,
        time(iterations, bump, full).await?,
        time(iterations, warm, full).await?,
    ])
}

/// Keystrokes after the first of typing each query letter by letter, the first one cold.
async fn typing(app: &App, cx: &Cx, queries: &[String]) -> anyhow::Result<Stats> {
    let mut samples = vec![];
    for q in queries {
        service::searches_changed(app, cx).await;
        let chars: Vec<(usize, char)> = q.char_indices().collect();
        for (k, (at, c)) in chars.iter().enumerate() {
            let typed = &q[..at + c.len_utf8()];
            let start = Instant::now();
            search_ids(app, cx, typed, 20).await.map_err(err)?;
            if k > 0 {
                samples.push(start.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    Ok(stats(samples))
}

/// A salesperson of `t` whose contacts grant is narrowed to their own contacts.
async fn own_scope_salesperson(app: &App, t: &Onboarded) -> anyhow::Result<TenantUser> {
    let u = insert_user(
        app,
        None,
        t.tenant_id,
        &format!("seller-{}@example.be", Uuid::now_v7().simple()),
        "Bench seller",
        None,
        Some(t.establishment_id),
        &["salesperson".to_string()],
        TakenElsewhere::Refuse,
    )
    .await
    .map_err(err)?;
    let grant = |scope| Grant {
        subject: "role:salesperson".into(),
        object: "contacts".into(),
        action: Action::Read,
        scope,
    };
    let mut uow = Uow::system(app, TenantId::new(t.tenant_id), "bench")
        .await
        .map_err(err)?;
    remove_grant(uow.txn(), t.tenant_id, &grant(Scope::Tenant))
        .await
        .map_err(err)?;
    add_grant(uow.txn(), t.tenant_id, &grant(Scope::Own))
        .await
        .map_err(err)?;
    uow.after_commit(AfterCommit::AuthzChanged(TenantId::new(t.tenant_id)));
    uow.commit().await.map_err(err)?;
    Ok(TenantUser {
        tenant_id: t.tenant_id,
        user_id: u.id,
        establishment_id: Some(t.establishment_id),
        team_ids: vec![],
    })
}

async fn context(app: &App, user: &TenantUser, want: Scope) -> anyhow::Result<Cx> {
    let cx = app
        .authz
        .context(user, "contacts", Action::Read)
        .await
        .map_err(err)?;
    anyhow::ensure!(cx.scope() == want, "expected {want:?} scope");
    Ok(cx)
}

fn local_phone(e164: &str) -> String {
    // +3247xxxxxxx -> 047x xx xx xx, as a counter would type it.
    let d = e164.trim_start_matches("+32");
    format!("0{} {} {} {}", &d[..3], &d[3..5], &d[5..7], &d[7..])
}

fn full_name(d: &ContactData) -> String {
    format!(
        "{} {}",
        d.first_name.as_deref().unwrap_or(""),
        d.last_name.as_deref().unwrap_or("")
    )
}

/// The queries of one kind over the sampled contacts, `i`-th call.
fn query_of(kind: &str, sample: &[ContactData], i: usize) -> String {
    let d = &sample[(i * 7919) % sample.len()];
    let last = d.last_name.as_deref().unwrap_or("x");
    let letters = |n: usize| last.chars().take(n).collect::<String>();
    match kind {
        "prefix, 1 letter" => letters(1),
        "prefix, 2 letters" => letters(2),
        "prefix, 3 letters" => letters(3),
        "full name" => full_name(d),
        "phone" => local_phone(&d.phones[0]),
        _ => d.emails[0].clone(),
    }
}

const KINDS: &[&str] = &[
    "prefix, 1 letter",
    "prefix, 2 letters",
    "prefix, 3 letters",
    "full name",
    "phone",
    "email",
];

/// Seeds the tenants, measures, and answers the report.
pub async fn search(app: &App, b: &SearchBench) -> anyhow::Result<String> {
    let backend = if app.config.database_url().starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut out = String::new();
    let mut people = People::new();
    let mut sweep: Vec<usize> = b.sweep.iter().copied().filter(|n| *n >= 1).collect();
    sweep.sort_unstable();
    sweep.dedup();
    let mut small_sample = vec![];

    // The small tenant first, with tiny neighbours up to the first point of the sweep.
    let small_size = (b.contacts / 100).clamp(1, 200);
    let onboarding = Instant::now();
    let small = tenant(app, 0).await?;
    seed(
        app,
        &mut people,
        &small,
        small_size,
        None,
        &mut small_sample,
    )
    .await?;
    let mut count = 1;
    let first_point = sweep.first().copied().unwrap_or(1);
    let mut onboarded = 1;
    for t in tenants(app, first_point.saturating_sub(count)).await? {
        seed(app, &mut people, &t, 5, None, &mut vec![]).await?;
        count += 1;
        onboarded += 1;
    }
    let mut small_at: Vec<(usize, Stats, Stats)> = vec![];
    let small_cx = context(app, &admin(&small), Scope::Tenant).await?;
    let measure_small = |count: usize| {
        let (small_cx, small_sample) = (&small_cx, &small_sample);
        async move {
            let kinds = ["full name", "prefix, 3 letters", "email"];
            let q = |i: usize| query_of(kinds[i % kinds.len()], small_sample, i / kinds.len());
            let [cold, cached, ..] = cold_and_cached(app, small_cx, b.iterations * 2, q).await?;
            Ok::<_, anyhow::Error>((count, cold, cached))
        }
    };
    if sweep.first() == Some(&count) {
        small_at.push(measure_small(count).await?);
    }
    let mut onboarding_s = onboarding.elapsed().as_secs_f64();

    // The uneven tenants of the run, the biggest first: with those above, `--tenants` in all.
    let sizes = sizes(
        b.tenants.saturating_sub(count).max(1),
        b.contacts.saturating_sub(small_size + 5 * (count - 1)),
    );
    let started = Instant::now();
    let main = tenants(app, sizes.len()).await?;
    onboarding_s += started.elapsed().as_secs_f64();
    onboarded += main.len();
    let seller = own_scope_salesperson(app, &main[0]).await?;
    anyhow::ensure!(sizes[0] > 0, "too few contacts for the tenants");
    let seeding = Instant::now();
    let mut sample = vec![];
    for (i, (t, n)) in main.iter().zip(&sizes).enumerate() {
        if i == 0 {
            // One contact in 1,000 of the biggest tenant is the salesperson's.
            seed(
                app,
                &mut people,
                t,
                *n,
                Some((seller.user_id, 1000)),
                &mut sample,
            )
            .await?;
        } else {
            seed(app, &mut people, t, *n, None, &mut vec![]).await?;
        }
    }
    let seeded_s = seeding.elapsed().as_secs_f64();
    eprintln!("seeded {} contacts in {seeded_s:.1} s", b.contacts);
    count += main.len();
    // What autovacuum and autoanalyze do after a bulk load, done now rather than whenever.
    let maintenance = Instant::now();
    let stmt = if backend == "PostgreSQL" {
        "VACUUM ANALYZE"
    } else {
        "ANALYZE"
    };
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, stmt).await?;
    let maintenance_s = maintenance.elapsed().as_secs_f64();

    writeln!(
        out,
        "contact search on {backend}: {} contacts over {} tenants (biggest {}, then {}), {} samples each",
        b.contacts,
        count,
        sizes[0],
        sizes
            .iter()
            .skip(1)
            .take(6)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
            + if sizes.len() > 7 { ", …" } else { "" },
        b.iterations
    )?;
    writeln!(
        out,
        "seeded in {seeded_s:.1} s through insert_many ({:.0} contacts/s), {stmt} {maintenance_s:.1} s; {onboarded} tenants onboarded in {onboarding_s:.1} s",
        b.contacts as f64 / seeded_s.max(1e-9)
    )?;

    // The baseline: one contact by id, as the admin of the biggest tenant.
    let admin_cx = context(app, &admin(&main[0]), Scope::Tenant).await?;
    let seller_cx = context(app, &seller, Scope::Own).await?;
    let ids: Vec<Uuid> = search_ids(app, &admin_cx, &full_name(&sample[0]), 5)
        .await
        .map_err(err)?;
    let target = *ids
        .first()
        .ok_or_else(|| anyhow::anyhow!("nothing found"))?;
    let base = time(
        b.iterations,
        |_| async {},
        |_| async {
            service::load_visible(app, &app.db, &admin_cx, target)
                .await
                .map_err(err)?;
            Ok(())
        },
    )
    .await?;
    writeln!(
        out,
        "\nbaseline, read one contact by id: p50 {:.0} µs, p99 {:.0} µs",
        base.p50, base.p99
    )?;
    writeln!(
        out,
        "biggest tenant ({} contacts); each figure p50 / p99 in µs, then p99 ÷ baseline p99",
        sizes[0]
    )?;
    writeln!(
        out,
        "{:<20} {:<12} {:>17} {:>8} {:>17} {:>8} {:>17} {:>8} {:>17} {:>8}",
        "query",
        "as",
        "ids cold",
        "÷",
        "ids cached",
        "÷",
        "contacts cold",
        "÷",
        "contacts cached",
        "÷"
    )?;
    for kind in KINDS {
        for (who, cx) in [("admin", &admin_cx), ("salesperson", &seller_cx)] {
            let r = cold_and_cached(app, cx, b.iterations, |i| query_of(kind, &sample, i)).await?;
            let mut line = format!("{kind:<20} {who:<12}");
            for s in &r {
                write!(
                    line,
                    " {:>17} {:>8.2}",
                    format!("{:.0} / {:.0}", s.p50, s.p99),
                    s.p99 / base.p99
                )?;
            }
            writeln!(out, "{line}")?;
            // Progress on stderr: a long run shows its figures as they come.
            eprintln!("{line}");
        }
    }
    let typed: Vec<String> = (0..b.iterations.clamp(1, 20))
        .map(|i| query_of("full name", &sample, i))
        .collect();
    for (who, cx) in [("admin", &admin_cx), ("salesperson", &seller_cx)] {
        let s = typing(app, cx, &typed).await?;
        writeln!(
            out,
            "typing a full name, keystrokes after the first, {who}: p50 {:.0} µs, p99 {:.0} µs, p99 ÷ baseline {:.2}",
            s.p50,
            s.p99,
            s.p99 / base.p99
        )?;
    }

    // The small tenant as the number of tenants grows.
    small_at.push(measure_small(count).await?);
    let later: Vec<usize> = sweep.iter().copied().filter(|p| *p > count).collect();
    for point in later {
        let started = Instant::now();
        let extra = tenants(app, point - count).await?;
        onboarding_s += started.elapsed().as_secs_f64();
        onboarded += extra.len();
        for t in &extra {
            seed(app, &mut people, t, 5, None, &mut vec![]).await?;
        }
        count = point;
        small_at.push(measure_small(count).await?);
    }
    writeln!(
        out,
        "\na small tenant ({small_size} contacts) as the tenants grow (tiny tenants of 5 contacts added; {onboarded} onboarded in all in {onboarding_s:.1} s):"
    )?;
    writeln!(
        out,
        "{:<10} {:>18} {:>10} {:>18} {:>10}",
        "tenants", "cold p50 / p99 µs", "÷ base", "cached p50 / p99", "÷ base"
    )?;
    for (n, cold, cached) in &small_at {
        writeln!(
            out,
            "{n:<10} {:>18} {:>10.2} {:>18} {:>10.2}",
            format!("{:.0} / {:.0}", cold.p50, cold.p99),
            cold.p99 / base.p99,
            format!("{:.0} / {:.0}", cached.p50, cached.p99),
            cached.p99 / base.p99
        )?;
    }
    Ok(out)
}
