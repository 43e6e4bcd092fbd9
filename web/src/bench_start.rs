//! `forecourt bench start`: how long `forecourt serve` takes from exec to answering
//! `/healthz` on the embedded default (SQLite file, in-process cache, mail to a folder), on a
//! fresh data folder (migrations run) and on one that already holds a database, and how much
//! memory the idle server holds. The baseline, in the same run, is the same binary started
//! and stopped without serving (`forecourt --version`): the cost of exec itself.

use std::{
    fmt::Write,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// A free local port (bound, then released for the child to take).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The resident memory of a process, in MiB (Linux only; `None` elsewhere).
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Starts `serve` on `data_dir`, waits until `/healthz` answers, and returns the time that
/// took and the idle server's resident memory a second later.
async fn serve_once(
    exe: &Path,
    data_dir: &Path,
    client: &reqwest::Client,
) -> anyhow::Result<(Duration, Option<f64>)> {
    let port = free_port()?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("SMTP_URL")
        .env("FORECOURT_DATA_DIR", data_dir)
        .env("FORECOURT_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let url = format!("http://127.0.0.1:{port}/healthz");
    let ready = loop {
        if let Ok(r) = client.get(&url).send().await
            && r.status().is_success()
        {
            break started.elapsed();
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("forecourt serve exited before it was ready: {status}");
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            anyhow::bail!("forecourt serve was not ready within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss = rss_mib(child.id());
    child.kill()?;
    child.wait()?;
    Ok((ready, rss))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Measures `runs` starts of each kind (see the module docs) and returns the report.
pub async fn start(runs: usize) -> anyhow::Result<String> {
    let runs = runs.max(1);
    let exe = std::env::current_exe()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;

    let mut baseline = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let status = Command::new(&exe)
            .arg("--version")
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "forecourt --version failed: {status}");
        baseline.push(t.elapsed());
    }
    let (mut fresh, mut again, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let (t, m) = serve_once(&exe, dir.path(), &client).await?;
        fresh.push(t);
        rss.extend(m);
        let (t, m) = serve_once(&exe, dir.path(), &client).await?;
        again.push(t);
        rss.extend(m);
    }

    let base = median(baseline);
    let mut out = String::new();
    writeln!(
        out,
        "start to ready on the embedded default (SQLite, in-process cache), median of {runs}"
    )?;
    writeln!(out, "{:<46} {:>10} {:>10}", "phase", "ms", "÷ baseline")?;
    let mut row = |name: &str, d: Duration| {
        writeln!(
            out,
            "{name:<46} {:>10.1} {:>10.1}",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / base.as_secs_f64()
        )
    };
    row("baseline: exec of `forecourt --version`", base)?;
    row("serve, fresh data folder (migrations run)", median(fresh))?;
    row("serve, existing database", median(again))?;
    if let Some(max) = rss.iter().copied().reduce(f64::max) {
        writeln!(
            out,
            "resident memory of the idle server: {max:.1} MiB (highest of the runs)"
        )?;
    }
    Ok(out)
}
