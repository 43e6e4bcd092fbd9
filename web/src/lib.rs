//! The `forecourt` server: assembles the module registry, the shared state and the HTTP
//! routes, and runs them. The command line lives in `main.rs`.

use forecourt_core::{
    App,
    app::AppModule,
    authz::Authz,
    cache::Cache,
    clock::{Clock, SystemClock},
    config::Config,
    http::{Operations, edge, host},
    mail::Mailer,
    ports::Ports,
    registry::Registry,
    storage::FsStorage,
};
use poem::{
    Endpoint, EndpointExt, Route,
    listener::{Acceptor, Listener, TcpListener},
};
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService, payload::Json};
use sea_orm_migration::MigratorTrait;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::sync::oneshot;

pub mod bench;
pub mod bench_api;
pub mod bench_intake;
pub mod bench_search;
pub mod bench_start;
pub mod demo;
pub mod wire;

/// The modules compiled into this binary. Adding a module means adding it here and its API
/// to [`api`]; startup fails on a duplicate id or a missing dependency.
pub fn modules() -> Vec<Box<AppModule>> {
    vec![
        Box::new(forecourt_tenants::PlatformModule),
        Box::new(forecourt_sources::SourcesModule),
        Box::new(forecourt_crm::CrmModule),
        Box::new(forecourt_optins::OptinsModule),
        Box::new(forecourt_opel::OpelModule),
        Box::new(forecourt_connectors::ConnectorsModule),
        Box::new(forecourt_statuses::StatusesModule),
    ]
}

/// Every API of every module, as one poem-openapi service (APIs combine only as tuples).
fn api() -> OpenApiService<impl OpenApi, ()> {
    OpenApiService::new(apis(), "Forecourt", env!("CARGO_PKG_VERSION")).description(
        "Multi-tenant backend for car-dealer CRMs. Every error is application/problem+json \
         (RFC 9457) with a stable `type`. Authenticate with `Authorization: Bearer <token>` \
         (from /api/v1/auth/login) or an API key. Text: every string field of a request body \
         has a `maxLength`, counted in Unicode characters, not bytes; no text (body fields, \
         query parameters, the path) may hold control characters other than tab and line \
         feed, and carriage return in free-text fields (`maxLength` of 500 or more). Either \
         is a 422 `validation_error` whose `field` names the input (`emails[0]`, \
         `customer.name`, or the query parameter).",
    )
}

/// The operations of every API, for the host to tell public ones from those that need a
/// principal before the router runs.
/// Also teaches the problem writer the API's enum types, so a refused parameter is answered
/// with the values it accepts.
pub fn operations() -> Operations {
    fn meta_of<T: OpenApi>(_: &T) -> Vec<poem_openapi::registry::MetaApi> {
        T::meta()
    }
    fn registry_of<T: OpenApi>(_: &T) -> poem_openapi::registry::Registry {
        let mut registry = poem_openapi::registry::Registry::new();
        T::register(&mut registry);
        registry
    }
    forecourt_core::http::learn_parameter_enums(&registry_of(&apis()));
    Operations::from_meta(&meta_of(&apis()))
}

/// Every API of every module, as one tuple.
fn apis() -> impl OpenApi {
    // poem-openapi combines at most 16 APIs per tuple; one tuple per layer keeps room.
    (
        (
            ServiceApi,
            forecourt_tenants::auth::AuthApi,
            forecourt_tenants::platform::PlatformApi,
            forecourt_tenants::admin::AdminApi,
            forecourt_tenants::users::UsersApi,
            forecourt_tenants::teams::TeamsApi,
            forecourt_tenants::permissions::PermissionsApi,
        ),
        forecourt_sources::SourcesApi,
        (
            forecourt_crm::ContactsApi,
            forecourt_crm::SearchApi,
            forecourt_crm::OpportunitiesApi,
            forecourt_crm::VehiclesApi,
            forecourt_crm::CrmSettingsApi,
            forecourt_crm::LeadPageApi,
            forecourt_crm::DocumentsApi,
            forecourt_crm::ReportsApi,
            forecourt_crm::TasksApi,
        ),
        forecourt_optins::OptinsApi,
        forecourt_opel::OpelApi,
        (
            forecourt_connectors::ConnectorsApi,
            forecourt_connectors::InboundApi,
        ),
        forecourt_statuses::StatusesApi,
    )
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> String {
    document(&api().spec())
}

/// poem-openapi's document with what the host adds to operations documented: the
/// `Idempotency-Key` of every authenticated POST, and the conventions of every operation
/// (`operationId`, problem answers, standard formats: `core::http::conventions`).
fn document(generated: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(generated) else {
        return generated.to_string();
    };
    forecourt_core::http::idempotency::document::document(&mut doc);
    forecourt_core::http::conventions::document(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| generated.to_string())
}

/// Connects, migrates, builds the registry and the shared state, and creates the configured
/// first operator. Starts no background task.
pub async fn build_app(config: Config) -> anyhow::Result<Arc<App>> {
    build_app_with_clock(config, Arc::new(SystemClock)).await
}

/// [`build_app`] with an explicit clock (jobs evaluated at a given date, tests).
pub async fn build_app_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<App>> {
    let registry = Arc::new(Registry::new(modules())?);
    let mut db = forecourt_core::db::connect(&config.database_url()).await?;
    let statements = forecourt_core::db::Statements::default();
    statements.attach(&mut db);
    forecourt_migrations::Migrator::up(&db, None).await?;
    let cache = match &config.redis_url {
        Some(url) => Cache::redis(
            &config.cache_prefix,
            url.expose(),
            Duration::from_millis(config.redis_timeout_ms),
        )?,
        None => Cache::memory(&config.cache_prefix),
    };
    let authz = Authz::new(db.clone(), cache.clone());
    let templates: Vec<(&'static str, &'static str)> = registry
        .modules()
        .flat_map(|m| m.mail_templates().iter().copied())
        .collect();
    let mail = Mailer::with_templates(&config, &templates)?;
    let storage = Arc::new(FsStorage::new(config.data_dir.join("files")));
    let write_gate = forecourt_core::db::WriteGate::for_db(&db);
    let app = Arc::new(App {
        config,
        db,
        cache,
        authz,
        mail,
        clock,
        registry,
        ports: Ports {
            directory: Arc::new(forecourt_tenants::TenantDirectory),
            contacts: Arc::new(forecourt_crm::Contacts),
            leads: Arc::new(forecourt_crm::Leads),
            lead_sources: Arc::new(forecourt_sources::Sources),
            lead_source_users: vec![
                Arc::new(forecourt_crm::OpportunitySources),
                Arc::new(forecourt_connectors::ConnectorSources),
            ],
            opportunity_facts: Arc::new(forecourt_crm::OpportunityReports),
            statuses: Arc::new(forecourt_statuses::TenantStatuses),
            status_holders: vec![Arc::new(forecourt_crm::StatusRecords)],
            team_users: vec![
                Arc::new(forecourt_crm::ContactTeams),
                Arc::new(forecourt_crm::OpportunityTeams),
            ],
        },
        storage,
        write_gate,
        statements,
        principals: Default::default(),
    });
    forecourt_tenants::platform::ensure_operator(&app).await?;
    forecourt_tenants::permissions::backfill_defaults(&app).await?;
    Ok(app)
}

/// Starts the node's background work: invalidation listener, permission version checks,
/// the purge of expired idempotency keys and the mail outbox worker.
pub fn start_background(app: &Arc<App>) {
    app.cache.spawn_listener();
    app.principals.spawn_listener(&app.cache);
    app.authz
        .spawn_background(Duration::from_millis(app.config.authz_refresh_ms));
    forecourt_crm::expiry::service::spawn_sweeper(
        app.clone(),
        Duration::from_secs(app.config.expiry_sweep_secs),
    );
    forecourt_core::http::idempotency::store::spawn_purger(app.clone());
    app.mail.spawn_worker(
        app.db.clone(),
        app.clock.clone(),
        Duration::from_millis(app.config.outbox_poll_ms),
    );
}

/// The HTTP application: routes, OpenAPI document, Swagger UI, and the host middleware.
pub fn routes(app: Arc<App>) -> impl Endpoint {
    let api = api();
    let generated = api.spec();
    let spec = document(&generated);
    // Swagger UI embeds the document it shows: the same one as served.
    let docs = poem::web::Html(api.swagger_ui_html().replacen(&generated, &spec, 1));
    let gate = app.clone();
    use forecourt_tenants::pages;
    let operations = Arc::new(operations());
    Route::new()
        // The pages the account mails link to (and their script and style).
        .at("/accept-invitation", poem::get(pages::accept_invitation))
        .at("/reset-password", poem::get(pages::reset_password))
        .at("/assets/account.js", poem::get(pages::script))
        .at("/assets/account.css", poem::get(pages::style))
        .at(
            "/api/v1/openapi.json",
            poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec.clone())
            }),
        )
        .nest("/docs", poem::endpoint::make_sync(move |_| docs.clone()))
        .nest("/", api)
        .around(move |ep, req| host(ep, req, gate.clone(), operations.clone()))
        .around(edge)
        .data(app)
}

/// A running server.
pub struct Server {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The shared state.
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Stops accepting connections and waits for requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Builds the app, binds `config.bind` and serves in the background.
pub async fn spawn(config: Config) -> anyhow::Result<Server> {
    let app = build_app(config).await?;
    spawn_app(app).await
}

/// Serves an already built app in the background.
pub async fn spawn_app(app: Arc<App>) -> anyhow::Result<Server> {
    start_background(&app);
    let acceptor = wire::ProblemAcceptor(
        TcpListener::bind(app.config.bind.clone())
            .into_acceptor()
            .await?,
    );
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| anyhow::anyhow!("listener has no address"))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let ep = routes(app.clone());
    let task = tokio::spawn(async move {
        poem::Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                ep,
                async {
                    let _ = stopped.await;
                },
                Some(Duration::from_secs(10)),
            )
            .await
    });
    tracing::info!(%addr, "listening");
    Ok(Server {
        addr,
        app,
        stop: Some(stop),
        task,
    })
}

/// Readiness of the node.
#[derive(Object)]
struct Readiness {
    /// `ok`, or `degraded` when the cache is down (requests still succeed).
    status: String,
    /// `ok` or `down`.
    database: String,
    /// `memory` (in-process), `ok` (Redis answers) or `down`.
    cache: String,
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// The node can serve.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// The database does not answer.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

struct ServiceApi;

#[derive(poem_openapi::Tags)]
enum ServiceTags {
    /// Health and readiness probes.
    Service,
}

#[OpenApi(tag = "ServiceTags::Service")]
impl ServiceApi {
    /// Liveness
    ///
    /// 200 whenever the process is up.
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> poem_openapi::payload::PlainText<&'static str> {
        poem_openapi::payload::PlainText("ok")
    }

    /// Readiness
    ///
    /// 200 when the database answers (Redis down is `degraded`, still 200); 503 otherwise.
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self, app: poem::web::Data<&Arc<App>>) -> ReadyResponse {
        let db_ok = app.db.ping().await.is_ok();
        let cache = match app.cache.redis_healthy().await {
            None => "memory",
            Some(true) => "ok",
            Some(false) => "down",
        };
        let status = if !db_ok {
            "down"
        } else if cache == "down" {
            "degraded"
        } else {
            "ok"
        };
        let body = Readiness {
            status: status.into(),
            database: if db_ok { "ok" } else { "down" }.into(),
            cache: cache.into(),
        };
        if db_ok {
            ReadyResponse::Ready(Json(body))
        } else {
            ReadyResponse::NotReady(Json(body))
        }
    }
}
