//! `forecourt bench api`: the API's everyday requests over HTTP, each beside what the database
//! itself does through the same pool in the same run: reads against a primary-key select,
//! writes against a single-row insert, at concurrency 1 and 16. Also the process's resident
//! memory, idle (the node up, nothing asked yet) and at its peak.

use crate::{
    Server,
    bench::{Throughput, bench_tenant, drive, login},
};
use sea_orm::{ConnectionTrait, Statement};
use std::fmt::Write;
use uuid::Uuid;

/// The scratch table of the baselines: not one of ours, so the baselines measure the
/// database and the pool only. Dropped at the end.
const SCRATCH: &str = "forecourt_bench_rows";

/// Contacts the writes spread over, so concurrent PATCHes do not all claim one row.
const WRITE_SPREAD: usize = 32;

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
        "{name:<44} {c:>4} {:>10.1} {:>10.2} {:>10.2} {:>12.2}",
        t.per_second,
        t.median_ms,
        t.p95_ms,
        t.per_second / base.per_second
    );
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

    // The baselines' table, filled for the primary-key select.
    let db = &app.db;
    let backend = db.get_database_backend();
    db.execute_unprepared(&format!(
        "CREATE TABLE IF NOT EXISTS {SCRATCH} (id VARCHAR(64) PRIMARY KEY, v VARCHAR(64) NOT NULL)"
    ))
    .await?;
    let keys: Vec<String> = (0..requests.max(1)).map(|i| format!("{run}-{i}")).collect();
    for k in &keys {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!("INSERT INTO {SCRATCH} (id, v) VALUES ($1, $2)"),
            [k.clone().into(), "row".into()],
        ))
        .await?;
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "API over HTTP on {}: {requests} requests per phase; reads divide by the primary-key \
         select, writes by the single-row insert, both through the same pool at the same \
         concurrency",
        if forecourt_core::db::is_postgres(db) {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let _ = writeln!(
        out,
        "{:<44} {:>4} {:>10} {:>10} {:>10} {:>12}",
        "phase", "c", "per s", "median ms", "p95 ms", "÷ baseline"
    );
    for c in [1usize, 16] {
        let select = drive(requests, c, |i| {
            let stmt = Statement::from_sql_and_values(
                backend,
                format!("SELECT id, v FROM {SCRATCH} WHERE id = $1"),
                [keys[i % keys.len()].clone().into()],
            );
            async move {
                let found = db.query_one_raw(stmt).await?;
                anyhow::ensure!(found.is_some(), "scratch row missing");
                Ok(())
            }
        })
        .await?;
        row(
            &mut out,
            "baseline: primary-key select",
            c,
            &select,
            &select,
        );
        let get = |path: String, want: u16| {
            let (client, token, url) = (client.clone(), token.clone(), format!("{base}{path}"));
            async move {
                let resp = client.get(url).bearer_auth(token).send().await?;
                let status = resp.status().as_u16();
                let _ = resp.bytes().await?;
                anyhow::ensure!(status == want, "GET answered {status}");
                Ok(())
            }
        };
        let by_id = drive(requests, c, |i| {
            get(
                format!("/api/v1/contacts/{}", contacts[i % contacts.len()]),
                200,
            )
        })
        .await?;
        row(&mut out, "GET /contacts/{id}", c, &by_id, &select);
        let list = drive(requests, c, |_| {
            get("/api/v1/contacts?limit=50".into(), 200)
        })
        .await?;
        row(
            &mut out,
            "GET /contacts?limit=50 (a full page)",
            c,
            &list,
            &select,
        );

        let insert = drive(requests, c, |i| {
            let stmt = Statement::from_sql_and_values(
                backend,
                format!("INSERT INTO {SCRATCH} (id, v) VALUES ($1, $2)"),
                [format!("{run}-w{c}-{i}").into(), "row".into()],
            );
            async move {
                db.execute_raw(stmt).await?;
                Ok(())
            }
        })
        .await?;
        row(&mut out, "baseline: single-row insert", c, &insert, &insert);
        let conflicts = std::sync::atomic::AtomicUsize::new(0);
        let patch = drive(requests, c, |i| {
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
                // Concurrent writers to one contact may meet its version claim: a 409 is an
                // answer the API gives by design; it is counted and reported.
                if status == 409 {
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
            let _ = writeln!(out, "  ({conflicts} PATCHes met a concurrent writer: 409)");
        }
    }
    db.execute_unprepared(&format!("DROP TABLE {SCRATCH}"))
        .await?;
    if let (Some((idle, _)), Some((now, peak))) = (idle, memory_mib()) {
        let _ = writeln!(
            out,
            "resident memory of this process (node and bench client): idle {idle:.1} MiB, \
             now {now:.1} MiB, peak {peak:.1} MiB"
        );
    }
    Ok(out)
}
