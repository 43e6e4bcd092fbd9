//! `forecourt bench api`: the API's everyday requests over HTTP, each beside what the database
//! itself does through the same pool in the same run: reads against a primary-key select,
//! writes against a single-row insert, at concurrency 1 and 16; each with the statements it
//! sends per request. Also the process's resident memory, idle (the node up, nothing asked
//! yet) and at its peak.
//!
//! The plumbing every HTTP bench shares lives here too: [`drive`] runs a phase, [`Scratch`]
//! measures the baselines (`bench intake` divides by the same single-row insert).

use crate::{
    Server,
    bench::{bench_tenant, login},
};
use forecourt_core::App;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::{fmt::Write, time::Instant};
use uuid::Uuid;

/// Contacts the writes spread over, so concurrent PATCHes do not all claim one row.
const WRITE_SPREAD: usize = 32;

/// The lead page's tabs: what a client loads, beside the opportunity itself, to show it.
const LEAD_PAGE_TABS: &[&str] = &[
    "trade-ins",
    "vehicle-requests",
    "offers",
    "test-drives",
    "tasks",
    "follow-ups",
    "comments",
    "documents",
    "activity",
];

/// One phase of a bench: `n` requests at a concurrency, each checked.
pub(crate) struct Throughput {
    pub(crate) per_second: f64,
    pub(crate) median_ms: f64,
    pub(crate) p95_ms: f64,
    /// Statements the node sent per request (the delta of `app.statements` ÷ requests).
    pub(crate) statements: f64,
}

/// The completions of a phase, in the order they finished: when (seconds since the phase
/// started) and how long each took (ms).
pub(crate) struct Run {
    pub(crate) finished_s: Vec<f64>,
    pub(crate) latency_ms: Vec<f64>,
    pub(crate) statements: u64,
}

impl Run {
    /// The figures of the completions `from..to` (in finishing order): their rate over the
    /// time from the completion before `from` (or the start) to the last of them.
    pub(crate) fn window(&self, from: usize, to: usize) -> Throughput {
        let to = to.min(self.finished_s.len());
        let from = from.min(to);
        let n = to - from;
        let start = if from == 0 {
            0.0
        } else {
            self.finished_s[from - 1]
        };
        let span = self
            .finished_s
            .get(to.wrapping_sub(1))
            .copied()
            .unwrap_or(0.0)
            - start;
        let mut lat = self.latency_ms[from..to].to_vec();
        lat.sort_by(f64::total_cmp);
        let at = |q: f64| {
            lat.get(((lat.len().max(1) as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        Throughput {
            per_second: if span > 0.0 { n as f64 / span } else { 0.0 },
            median_ms: at(0.5),
            p95_ms: at(0.95),
            statements: self.statements as f64 / self.finished_s.len().max(1) as f64,
        }
    }

    /// The figures of the whole phase.
    pub(crate) fn all(&self) -> Throughput {
        self.window(0, self.finished_s.len())
    }
}

/// Runs `n` calls of `f` with `concurrency` in flight, counting the statements `app` sends
/// meanwhile.
pub(crate) async fn run<F, Fut>(
    app: &App,
    n: usize,
    concurrency: usize,
    f: F,
) -> anyhow::Result<Run>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    use futures::StreamExt;
    let before = app.statements.count();
    let started = Instant::now();
    let done: Vec<(f64, f64)> = futures::stream::iter(0..n)
        .map(|i| {
            let call = f(i);
            async move {
                let t = Instant::now();
                call.await?;
                Ok::<_, anyhow::Error>((
                    started.elapsed().as_secs_f64(),
                    t.elapsed().as_secs_f64() * 1000.0,
                ))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let statements = app.statements.count() - before;
    let (finished_s, latency_ms) = done.into_iter().unzip();
    Ok(Run {
        finished_s,
        latency_ms,
        statements,
    })
}

/// [`run`], summed up.
pub(crate) async fn drive<F, Fut>(
    app: &App,
    n: usize,
    concurrency: usize,
    f: F,
) -> anyhow::Result<Throughput>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    Ok(run(app, n, concurrency, f).await?.all())
}

/// The baselines' table: not one of ours, so the baselines measure the database and the pool
/// only. Named per run (two benches on one database keep apart) and dropped by [`Scratch::drop`].
pub(crate) struct Scratch<'a> {
    app: &'a App,
    table: String,
    keys: Vec<String>,
}

impl<'a> Scratch<'a> {
    /// Creates the table with `rows` rows for the primary-key select (written in multi-row
    /// inserts: the seeding is not what is measured).
    pub(crate) async fn create(app: &'a App, rows: usize) -> anyhow::Result<Self> {
        let run = Uuid::now_v7().simple().to_string();
        let table = format!("forecourt_bench_{}", &run[run.len() - 12..]);
        let db = &app.db;
        db.execute_unprepared(&format!(
            "CREATE TABLE {table} (id VARCHAR(64) PRIMARY KEY, v VARCHAR(64) NOT NULL)"
        ))
        .await?;
        let keys: Vec<String> = (0..rows).map(|i| format!("{run}-{i}")).collect();
        for chunk in keys.chunks(500) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, 'row')", i + 1))
                .collect();
            db.execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                format!("INSERT INTO {table} (id, v) VALUES {}", values.join(", ")),
                chunk.iter().map(|k| k.clone().into()),
            ))
            .await?;
        }
        Ok(Self { app, table, keys })
    }

    fn db(&self) -> &'a DatabaseConnection {
        &self.app.db
    }

    fn backend(&self) -> DbBackend {
        self.db().get_database_backend()
    }

    /// `n` primary-key selects of the seeded rows at `concurrency`.
    pub(crate) async fn select(&self, n: usize, concurrency: usize) -> anyhow::Result<Throughput> {
        anyhow::ensure!(
            !self.keys.is_empty(),
            "the scratch table has no rows to select"
        );
        let (db, backend) = (self.db(), self.backend());
        drive(self.app, n, concurrency, |i| {
            let stmt = Statement::from_sql_and_values(
                backend,
                format!("SELECT id, v FROM {} WHERE id = $1", self.table),
                [self.keys[i % self.keys.len()].clone().into()],
            );
            async move {
                let found = db.query_one_raw(stmt).await?;
                anyhow::ensure!(found.is_some(), "scratch row missing");
                Ok(())
            }
        })
        .await
    }

    /// `n` single-row inserts at `concurrency`, each a statement of its own (autocommit).
    pub(crate) async fn insert(&self, n: usize, concurrency: usize) -> anyhow::Result<Throughput> {
        let (db, backend) = (self.db(), self.backend());
        let run = Uuid::now_v7().simple().to_string();
        drive(self.app, n, concurrency, |i| {
            let stmt = Statement::from_sql_and_values(
                backend,
                format!("INSERT INTO {} (id, v) VALUES ($1, $2)", self.table),
                [format!("{run}-{i}").into(), "row".into()],
            );
            async move {
                db.execute_raw(stmt).await?;
                Ok(())
            }
        })
        .await
    }

    /// Drops the table.
    pub(crate) async fn drop(self) -> anyhow::Result<()> {
        self.db()
            .execute_unprepared(&format!("DROP TABLE {}", self.table))
            .await?;
        Ok(())
    }
}

/// The process's resident set (`VmRSS`) and its peak (`VmHWM`), in MiB, on Linux.
fn memory_mib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |key: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse::<f64>().ok()
    };
    Some((kib("VmRSS:")? / 1024.0, kib("VmHWM:")? / 1024.0))
}

fn row(out: &mut String, name: &str, c: usize, t: &Throughput, base: &Throughput) {
    let _ = writeln!(
        out,
        "{name:<48} {c:>4} {:>10.1} {:>10.2} {:>10.2} {:>12.3} {:>8.1}",
        t.per_second,
        t.median_ms,
        t.p95_ms,
        t.per_second / base.per_second,
        t.statements
    );
}

/// Answers the JSON of a request that must succeed with `want`.
async fn send(req: reqwest::RequestBuilder, want: u16) -> anyhow::Result<serde_json::Value> {
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await?;
    anyhow::ensure!(
        status == want,
        "answered {status}, not {want}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

/// An opportunity with what a lead page usually shows: two contacts, two vehicles of
/// interest, a trade-in, a vehicle asked about, an offer, a task, a follow-up and two comments.
async fn seeded_opportunity(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    contacts: &[String],
) -> anyhow::Result<String> {
    let me: serde_json::Value = send(
        client.get(format!("{base}/api/v1/me")).bearer_auth(token),
        200,
    )
    .await?;
    let mut vehicles = Vec::new();
    for (i, model) in ["Corsa", "Mokka"].into_iter().enumerate() {
        let v = send(
            client
                .post(format!("{base}/api/v1/vehicles"))
                .bearer_auth(token)
                .json(&serde_json::json!({
                    "make": "Opel", "model": model, "year": 2023, "price": 1899000,
                    "vin": format!("W0L{}{i}", &Uuid::now_v7().simple().to_string()[19..]).to_uppercase(),
                })),
            201,
        )
        .await?;
        vehicles.push(v["id"].clone());
    }
    let made = send(
        client
            .post(format!("{base}/api/v1/opportunities"))
            .bearer_auth(token)
            .json(&serde_json::json!({
                "contacts": [
                    {"contact_id": contacts[0], "role": "buyer"},
                    {"contact_id": contacts[1], "role": "driver"},
                ],
                "customer_info": "Wants a small car for the city; trade-in of an old 208.",
                "vehicle_ids": vehicles,
            })),
        201,
    )
    .await?;
    let id = made["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("opportunity: {made}"))?
        .to_string();
    let me_id = me["user"]["id"].clone();
    let soon = chrono::Utc::now() + chrono::Duration::days(3);
    let (valid_until, soon) = (soon.date_naive().to_string(), soon.to_rfc3339());
    for (tab, body) in [
        (
            "trade-ins",
            serde_json::json!({"make": "Peugeot", "model": "208", "year": 2014, "mileage_km": 142000}),
        ),
        (
            "vehicle-requests",
            serde_json::json!({"interest": "buy", "make": "Opel", "model": "Corsa"}),
        ),
        (
            "offers",
            serde_json::json!({"vehicle_id": vehicles[0], "price": 1899000, "discount": 50000, "valid_until": valid_until}),
        ),
        (
            "tasks",
            serde_json::json!({"title": "Call back", "due_at": soon, "assignee_id": me_id}),
        ),
        (
            "follow-ups",
            serde_json::json!({"deadline": soon, "reason": "Financing answer"}),
        ),
        (
            "comments",
            serde_json::json!({"text": "Came by on Saturday."}),
        ),
        ("comments", serde_json::json!({"text": "Prefers blue."})),
    ] {
        send(
            client
                .post(format!("{base}/api/v1/opportunities/{id}/{tab}"))
                .bearer_auth(token)
                .json(&body),
            201,
        )
        .await?;
    }
    Ok(id)
}

/// Runs the phases with `requests` requests each and answers the report.
pub async fn api(server: &Server, requests: usize) -> anyhow::Result<String> {
    let app = &server.app;
    let idle = memory_mib();
    let (_, email) = bench_tenant(app).await?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()?;
    let token = login(&client, &base, &email).await?;

    // A tenant with enough contacts for a full list page and for spread-out writes.
    let run = Uuid::now_v7().simple().to_string();
    let mut contacts = Vec::new();
    for i in 0..WRITE_SPREAD.max(50) {
        let made: serde_json::Value = client
            .post(format!("{base}/api/v1/contacts"))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "kind": "person",
                "first_name": "Bench",
                "last_name": format!("Contact {i}"),
                "emails": [format!("api-{run}-{i}@example.be")],
            }))
            .send()
            .await?
            .json()
            .await?;
        let id = made["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("contact: {made}"))?
            .to_string();
        contacts.push(id);
    }

    let opportunity = seeded_opportunity(&client, &base, &token, &contacts).await?;
    let scratch = Scratch::create(app, requests.max(1)).await?;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "API over HTTP on {}: {requests} requests per phase; reads divide by the primary-key \
         select, writes by the single-row insert, both through the same pool at the same \
         concurrency; stmts = statements the node sent per request",
        if forecourt_core::db::is_postgres(&app.db) {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let _ = writeln!(
        out,
        "{:<48} {:>4} {:>10} {:>10} {:>10} {:>12} {:>8}",
        "phase", "c", "per s", "median ms", "p95 ms", "÷ baseline", "stmts"
    );
    let get = |path: String| {
        let (client, token, url) = (client.clone(), token.clone(), format!("{base}{path}"));
        async move {
            let resp = client.get(url).bearer_auth(token).send().await?;
            let status = resp.status().as_u16();
            let _ = resp.bytes().await?;
            anyhow::ensure!(status == 200, "GET {path} answered {status}");
            Ok(())
        }
    };
    for c in [1usize, 16] {
        let select = scratch.select(requests, c).await?;
        row(
            &mut out,
            "baseline: primary-key select",
            c,
            &select,
            &select,
        );
        let by_id = drive(app, requests, c, |i| {
            get(format!("/api/v1/contacts/{}", contacts[i % contacts.len()]))
        })
        .await?;
        row(&mut out, "GET /contacts/{id}", c, &by_id, &select);
        let list = drive(
            app,
            requests,
            c,
            |_| get("/api/v1/contacts?limit=50".into()),
        )
        .await?;
        row(
            &mut out,
            "GET /contacts?limit=50 (a full page)",
            c,
            &list,
            &select,
        );
        let one = drive(app, requests, c, |_| {
            get(format!("/api/v1/opportunities/{opportunity}"))
        })
        .await?;
        row(&mut out, "GET /opportunities/{id}", c, &one, &select);
        // A page load is the opportunity and every tab, asked together as a client does.
        let page = drive(app, requests, c, |_| {
            let calls: Vec<_> = std::iter::once(format!("/api/v1/opportunities/{opportunity}"))
                .chain(
                    LEAD_PAGE_TABS
                        .iter()
                        .map(|tab| format!("/api/v1/opportunities/{opportunity}/{tab}")),
                )
                .map(get)
                .collect();
            async move {
                futures::future::try_join_all(calls).await?;
                Ok(())
            }
        })
        .await?;
        row(
            &mut out,
            &format!("lead page ({} GETs in parallel)", LEAD_PAGE_TABS.len() + 1),
            c,
            &page,
            &select,
        );

        let insert = scratch.insert(requests, c).await?;
        row(&mut out, "baseline: single-row insert", c, &insert, &insert);
        let conflicts = std::sync::atomic::AtomicUsize::new(0);
        let patch = drive(app, requests, c, |i| {
            let (client, token, conflicts) = (client.clone(), token.clone(), &conflicts);
            let url = format!(
                "{base}/api/v1/contacts/{}",
                contacts[i % WRITE_SPREAD.min(contacts.len())]
            );
            async move {
                let resp = client
                    .patch(url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({"comments": format!("bench note {i}")}))
                    .send()
                    .await?;
                let status = resp.status().as_u16();
                let _ = resp.bytes().await?;
                // Concurrent writers to one contact may meet its version claim: a 409 or 412 is an
                // answer the API gives by design; it is counted and reported.
                if status == 409 || status == 412 {
                    conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                } else {
                    anyhow::ensure!(status == 200, "PATCH answered {status}");
                }
                Ok(())
            }
        })
        .await?;
        row(&mut out, "PATCH /contacts/{id}", c, &patch, &insert);
        let conflicts = conflicts.into_inner();
        if conflicts > 0 {
            let _ = writeln!(
                out,
                "  ({conflicts} PATCHes met a concurrent writer: 409 or 412)"
            );
        }
    }
    scratch.drop().await?;
    if let (Some((idle, _)), Some((now, peak))) = (idle, memory_mib()) {
        let _ = writeln!(
            out,
            "resident memory of this process (node and bench client): idle {idle:.1} MiB, \
             now {now:.1} MiB, peak {peak:.1} MiB"
        );
    }
    Ok(out)
}
