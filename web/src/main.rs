//! The `forecourt` command line.

use clap::{Parser, Subcommand};
use forecourt_core::config::Config;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "forecourt",
    version,
    about = "Multi-tenant backend for car-dealer CRMs"
)]
struct Cli {
    /// Configuration file (read if it exists).
    #[arg(long, default_value = "forecourt.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage operator accounts.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Background jobs, run now.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Measure performance against a baseline taken in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run the opportunity expiry sweep for every tenant, evaluating the rule at `--as-of`
    /// (default: now).
    Expire {
        /// The date the rule is evaluated at (YYYY-MM-DD, end of that day UTC).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Contact search over many tenants of uneven size (one of 20% of the contacts, five of
    /// 2%, the rest small), cold and cached, as an admin and as an own-scope salesperson of
    /// the biggest, against reading one contact by id; and a small tenant's p99 as tenants
    /// are added. Uses the configured database (a temporary SQLite file when none is
    /// configured) and cache (`REDIS_URL`).
    Search {
        /// Tenants the contacts are spread over.
        #[arg(long, default_value_t = 100)]
        tenants: usize,
        /// Contacts to seed, in all.
        #[arg(long, default_value_t = 100_000)]
        contacts: usize,
        /// Samples per measurement.
        #[arg(long, default_value_t = 50)]
        iterations: usize,
        /// Tenant counts at which the small tenant is measured, comma-separated (default:
        /// 10, `--tenants` and ten times `--tenants`).
        #[arg(long, value_delimiter = ',')]
        sweep: Option<Vec<usize>>,
    },
    /// Sustained lead intake through `POST /inbound/{connector}/leads` (new-customer JSON
    /// leads, the first and last 2,000 reported apart; then merged, duplicate and ADF leads)
    /// against a raw single-row insert through the same pool, with the statements per lead;
    /// on a node started in-process on the configured database (a temporary SQLite file when
    /// none is configured).
    Intake {
        /// New-customer leads in the sustained phase (the side phases take at most 2,000).
        #[arg(long, default_value_t = 20_000)]
        leads: usize,
        /// Requests in flight.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// The API's everyday requests over HTTP (GET a contact, a list page, an opportunity, its
    /// lead page, PATCH a contact) at concurrency 1 and 16, with the statements per request,
    /// against a primary-key select and a single-row insert through the same pool, and the
    /// process's resident memory idle and at peak; on a node started in-process on the
    /// configured database (a temporary SQLite file when none is configured).
    Api {
        /// Requests per phase.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
    },
    /// Time from exec to `/healthz` answering for `forecourt serve` on the embedded default,
    /// on a fresh data folder and on an existing database, against exec of `forecourt
    /// --version`; and the idle server's resident memory.
    Start {
        /// Starts of each kind.
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Create an operator account.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password (at least 10 characters).
        #[arg(long)]
        password: String,
        /// Display name.
        #[arg(long, default_value = "Operator")]
        name: String,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Create a demo reseller, a Go and an Expert dealership, users and lead sources.
    Seed,
}

fn init_logs(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(&cli.config)?;
    init_logs(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            std::fs::create_dir_all(&config.data_dir)?;
            let app = forecourt_web::build_app(config).await?;
            let server = forecourt_web::spawn_app(app).await?;
            println!("forecourt listening on http://{}", server.addr);
            shutdown_signal().await;
            tracing::info!("shutting down");
            server.shutdown().await;
        }
        Command::Migrate => {
            std::fs::create_dir_all(&config.data_dir)?;
            forecourt_web::build_app(config).await?;
            println!("migrations applied");
        }
        Command::Operator {
            command:
                OperatorCommand::Create {
                    email,
                    password,
                    name,
                },
        } => {
            std::fs::create_dir_all(&config.data_dir)?;
            let app = forecourt_web::build_app(config).await?;
            let id = forecourt_tenants::platform::create_operator(&app, &email, &name, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("operator {id} created");
        }
        Command::Demo {
            command: DemoCommand::Seed,
        } => {
            std::fs::create_dir_all(&config.data_dir)?;
            let app = forecourt_web::build_app(config).await?;
            let summary = forecourt_web::demo::seed(&app).await?;
            println!("{summary}");
        }
        Command::Openapi => println!("{}", forecourt_web::openapi_json()),
        Command::Jobs {
            command: JobsCommand::Expire { as_of },
        } => {
            let app = forecourt_web::build_app(config).await?;
            let at = match as_of {
                Some(d) => d
                    .and_hms_opt(23, 59, 59)
                    .map(|t| t.and_utc())
                    .ok_or_else(|| anyhow::anyhow!("bad date"))?,
                None => app.clock.now(),
            };
            let node = format!("cli-{}", std::process::id());
            let (tenants, expired) = forecourt_crm::expiry::service::sweep_all(&app, &node, at)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "expiry rule evaluated at {at}: {tenants} tenants swept, {expired} opportunities expired"
            );
        }
        Command::Bench { command } => {
            let mut config = config;
            let _scratch = match config.database_url {
                Some(_) => None,
                None => {
                    let dir = tempfile::tempdir()?;
                    config.data_dir = dir.path().to_path_buf();
                    Some(dir)
                }
            };
            match command {
                BenchCommand::Search {
                    tenants,
                    contacts,
                    iterations,
                    sweep,
                } => {
                    let app = forecourt_web::build_app(config).await?;
                    let bench = forecourt_web::bench_search::SearchBench {
                        tenants,
                        contacts,
                        iterations,
                        sweep: sweep.unwrap_or_else(|| vec![10, tenants, tenants * 10]),
                    };
                    println!(
                        "{}",
                        forecourt_web::bench_search::search(&app, &bench).await?
                    );
                }
                BenchCommand::Api { requests } => {
                    config.bind = "127.0.0.1:0".into();
                    let server = forecourt_web::spawn(config).await?;
                    let report = forecourt_web::bench_api::api(&server, requests).await;
                    server.shutdown().await;
                    println!("{}", report?);
                }
                BenchCommand::Start { runs } => {
                    println!("{}", forecourt_web::bench_start::start(runs).await?);
                }
                BenchCommand::Intake { leads, concurrency } => {
                    config.bind = "127.0.0.1:0".into();
                    let server = forecourt_web::spawn(config).await?;
                    let report =
                        forecourt_web::bench_intake::intake(&server, leads, concurrency).await;
                    server.shutdown().await;
                    println!("{}", report?);
                }
            }
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
