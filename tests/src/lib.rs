//! End-to-end harness: the real Forecourt server on `127.0.0.1:0`, driven over HTTP.
//!
//! Runs on SQLite in a temporary folder by default; set `FORECOURT_TEST_DATABASE_URL`
//! (a PostgreSQL server URL) and/or `FORECOURT_TEST_REDIS_URL` to run the same suite on them.

// Test-only code: a failed setup step must abort the test with a loud panic, so `unwrap` and
// `expect` are the right tools here (the workspace denies them in production code only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod smtp;

use chrono::{DateTime, Utc};
use forecourt_core::clock::{Clock, SystemClock};
use forecourt_core::{config::Config, secret::Secret};
use reqwest::header::HeaderMap;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The clock a node started with [`TestServer::start_clocked`] runs on.
pub use forecourt_core::clock::FixedClock;
pub use reqwest::{Method, StatusCode};

/// The operator created from the configuration on first start.
pub const OPERATOR_EMAIL: &str = "operator@forecourt.test";
/// Its password.
pub const OPERATOR_PASSWORD: &str = "operator-password-1";
/// How long a change may take to apply everywhere (cache invalidation, other nodes).
pub const PROPAGATION: Duration = Duration::from_secs(3);
/// The password given to every account the helpers create.
pub const PASSWORD: &str = "correct-horse-battery";

/// One running node, its data folder and an HTTP client.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A fresh temporary folder, the node's data dir (a sharing node's data dir is the first
    /// node's: see `config.data_dir`).
    pub data_dir: tempfile::TempDir,
    /// The client every helper uses.
    pub client: reqwest::Client,
    /// The configuration the node was started with.
    pub config: Config,
    server: forecourt_web::Server,
}

/// Everything about one HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body parsed as JSON; `Null` when empty, a JSON string when it is not JSON.
    pub body: Value,
}

impl Reply {
    /// The `content-type` header, or "".
    pub fn content_type(&self) -> &str {
        self.header("content-type")
    }

    /// A header as text, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status and returns its body.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.body
        );
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "content-type {:?} is not problem+json (status {status}, body {})",
            self.content_type(),
            self.body
        );
        assert!(
            self.body["type"].is_string(),
            "problem without type: {}",
            self.body
        );
        assert_eq!(
            self.body["status"], status,
            "problem status member: {}",
            self.body
        );
        &self.body
    }
}

/// A user account created by a helper.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user id (for a reseller: the reseller id; its user is `user_id`).
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// A tenant onboarded by a helper, with its logged-in first admin.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub tenant_id: String,
    pub company_id: String,
    pub establishment_id: String,
    pub admin_user_id: String,
    pub admin_email: String,
    pub admin_password: String,
    pub admin_token: String,
}

/// Assertions on `(status, body)` pairs.
pub trait Expect {
    /// Asserts the status and returns the body.
    fn ok(self, status: u16) -> Value;
    /// Asserts the status and the problem `type` and returns the body.
    fn problem(self, status: u16, kind: &str) -> Value;
    /// Asserts a 422 whose `field` member is `field` and returns the body.
    fn invalid(self, field: &str) -> Value;
}

impl Expect for (StatusCode, Value) {
    #[track_caller]
    fn ok(self, status: u16) -> Value {
        assert_eq!(
            self.0.as_u16(),
            status,
            "unexpected status, body: {}",
            self.1
        );
        self.1
    }

    #[track_caller]
    fn problem(self, status: u16, kind: &str) -> Value {
        assert_eq!(
            self.0.as_u16(),
            status,
            "unexpected status, body: {}",
            self.1
        );
        assert_eq!(
            self.1["type"], kind,
            "unexpected problem type, body: {}",
            self.1
        );
        self.1
    }

    #[track_caller]
    fn invalid(self, field: &str) -> Value {
        let body = self.ok(422);
        assert_eq!(
            body["field"], field,
            "the problem does not name {field:?}: {body}"
        );
        body
    }
}

/// Shortcuts on JSON bodies.
pub trait Json {
    /// The string member `key`; panics when it is missing.
    fn str(&self, key: &str) -> String;
    /// The `id` of every element of `items`.
    fn ids(&self) -> Vec<String>;
    /// The elements of `items`.
    fn items(&self) -> Vec<Value>;
}

impl Json for Value {
    #[track_caller]
    fn str(&self, key: &str) -> String {
        match self[key].as_str() {
            Some(s) => s.to_string(),
            None => panic!("no string member {key:?} in {self}"),
        }
    }

    #[track_caller]
    fn ids(&self) -> Vec<String> {
        self.items().iter().map(|i| i.str("id")).collect()
    }

    #[track_caller]
    fn items(&self) -> Vec<Value> {
        match self["items"].as_array() {
            Some(items) => items.clone(),
            None => panic!("no items array in {self}"),
        }
    }
}

/// A name nobody else uses: `prefix` and 12 random hex digits.
pub fn unique(prefix: &str) -> String {
    // The tail of a v7 uuid is random (its head is the clock).
    format!(
        "{prefix}-{}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    )
}

/// A fresh e-mail address.
pub fn unique_email(prefix: &str) -> String {
    format!("{}@example.test", unique(prefix))
}

/// The onboarding body for a tenant with the given licence and first admin.
pub fn onboarding(licence: &str, admin_email: &str, admin_password: Option<&str>) -> Value {
    let mut admin = json!({"email": admin_email, "name": "First Admin"});
    if let Some(p) = admin_password {
        admin["password"] = json!(p);
    }
    json!({
        "name": unique("Dealer"),
        "licence": licence,
        "company": {"name": unique("Company")},
        "establishment": {"name": unique("Site")},
        "admin": admin,
    })
}

/// The invitation token (`token=...`) in a mail, undoing quoted-printable soft breaks.
pub fn invitation_token(mail: &str) -> Option<String> {
    let text = mail
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = text.find("token=")? + "token=".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let authority = head.find("://").map_or(0, |i| i + 3);
    let server = match head[authority..].find('/') {
        Some(i) => &head[..authority + i],
        None => head,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// Creates an empty database on the PostgreSQL server of `url`; returns its URL.
async fn fresh_database(url: &str) -> String {
    let name = format!("fc_test_{}", uuid::Uuid::now_v7().simple());
    let admin = sea_orm::Database::connect(url)
        .await
        .expect("connect to FORECOURT_TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let _ = admin.close().await;
    with_database(url, &name)
}

/// The test configuration in a fresh temporary data folder (on a fresh database and on Redis
/// when the environment names them), adjusted by `adjust`; returns it with the folder.
async fn test_config(adjust: impl FnOnce(&mut Config)) -> (Config, tempfile::TempDir) {
    let data_dir = tempfile::tempdir().expect("temporary data dir");
    let mut cfg = Config {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_path_buf(),
        operator_email: Some(OPERATOR_EMAIL.into()),
        operator_password: Some(Secret::new(OPERATOR_PASSWORD)),
        authz_refresh_ms: 200,
        outbox_poll_ms: 100,
        cache_prefix: format!("t{}", uuid::Uuid::now_v7().simple()),
        ..Config::default()
    };
    if let Ok(url) = std::env::var("FORECOURT_TEST_DATABASE_URL") {
        cfg.database_url = Some(Secret::new(fresh_database(&url).await));
    }
    if let Ok(url) = std::env::var("FORECOURT_TEST_REDIS_URL") {
        cfg.redis_url = Some(Secret::new(url));
    }
    adjust(&mut cfg);
    (cfg, data_dir)
}

impl TestServer {
    /// A node with the test configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A node with the test configuration, adjusted by `adjust` before start.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let (cfg, data_dir) = test_config(adjust).await;
        Self::launch(cfg, data_dir, None).await
    }

    /// A node with the test configuration, adjusted by `adjust` before start, whose clock
    /// stands still at `at` until the test moves it with the returned [`FixedClock`].
    pub async fn start_clocked(
        at: DateTime<Utc>,
        adjust: impl FnOnce(&mut Config),
    ) -> (Self, FixedClock) {
        let (cfg, data_dir) = test_config(adjust).await;
        let clock = FixedClock::new(at);
        let server = Self::launch(cfg, data_dir, Some(Arc::new(clock.clone()))).await;
        (server, clock)
    }

    /// A second node on the same database, data folder, cache prefix and Redis as `other`.
    pub async fn start_sharing(other: &TestServer, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut cfg = other.config.clone();
        cfg.bind = "127.0.0.1:0".into();
        cfg.database_url = Some(Secret::new(other.config.database_url()));
        adjust(&mut cfg);
        Self::launch(cfg, tempfile::tempdir().expect("temporary data dir"), None).await
    }

    /// Starts a node with `cfg` on the given clock (`None`: the wall clock).
    async fn launch(
        cfg: Config,
        data_dir: tempfile::TempDir,
        clock: Option<Arc<dyn Clock>>,
    ) -> Self {
        let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
        let app = forecourt_web::build_app_with_clock(cfg.clone(), clock)
            .await
            .expect("server starts");
        let server = forecourt_web::spawn_app(app).await.expect("server starts");
        Self {
            base: format!("http://{}", server.addr),
            data_dir,
            // The suite reads problems in English, as a client that asks for it does; a
            // request that sets its own `Accept-Language` (or a client without this default)
            // gets the language it asks for, or the tenant's.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .default_headers(reqwest::header::HeaderMap::from_iter([(
                    reqwest::header::ACCEPT_LANGUAGE,
                    reqwest::header::HeaderValue::from_static("en"),
                )]))
                .build()
                .expect("http client"),
            config: cfg,
            server,
        }
    }

    /// Stops the node gracefully.
    pub async fn stop(self) {
        self.server.shutdown().await;
    }

    /// Sends a request; `token` "" sends none, a `Null` body sends none.
    pub async fn send(&self, method: Method, path: &str, token: &str, body: &Value) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if !body.is_null() {
            req = req.json(body);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Reply {
        self.send_with(
            method,
            path,
            token,
            &[("content-type", content_type)],
            bytes,
        )
        .await
    }

    /// Sends raw bytes with the given headers (`token` "" sends no `Authorization`).
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        bytes: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(bytes);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    /// Sends a request and answers the raw body bytes with the status and headers (downloads).
    pub async fn fetch_bytes(&self, path: &str, token: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.bytes().await.expect("body read").to_vec();
        (status, headers, bytes)
    }

    async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Any method, `(status, body)`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let r = self.send(method, path, token, &body).await;
        (r.status, r.body)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, Value::Null).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, body).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, token, body).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, token, body).await
    }

    /// DELETE; a `Null` body sends none.
    pub async fn delete(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, token, body).await
    }

    /// Sends each request with `token`; lists, one line each, those whose answer does not
    /// satisfy `expected`.
    pub async fn unexpected(
        &self,
        token: &str,
        requests: Vec<(Method, String, Value)>,
        expected: impl Fn(StatusCode, &Value) -> bool,
    ) -> Vec<String> {
        let mut failures = Vec::new();
        for (method, path, body) in requests {
            let (status, reply) = self.call(method.clone(), &path, token, body.clone()).await;
            if !expected(status, &reply) {
                failures.push(format!("{method} {path} {body} -> {status} {reply}"));
            }
        }
        failures
    }

    /// Repeats a request (its body rebuilt each time by `body`) every 100 ms until it answers
    /// `want` or `timeout` passes; returns the last answer.
    pub async fn poll_until(
        &self,
        timeout: Duration,
        method: Method,
        path: &str,
        token: &str,
        body: impl Fn() -> Value,
        want: u16,
    ) -> (StatusCode, Value) {
        let deadline = Instant::now() + timeout;
        loop {
            let reply = self.call(method.clone(), path, token, body()).await;
            if reply.0.as_u16() == want || Instant::now() >= deadline {
                return reply;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The statements one GET of `path` sends to the database in the steady state (after a
    /// first GET warmed the node's caches): the fewest over five tries, since a background task
    /// (mail outbox, permission version check) can add one to a single try but not to all.
    /// Panics unless every GET answers 200.
    pub async fn statements_per_get(&self, path: &str, token: &str) -> u64 {
        self.get(path, token).await.ok(200);
        let mut fewest = u64::MAX;
        for _ in 0..5 {
            let before = self.server.app.statements.count();
            self.get(path, token).await.ok(200);
            fewest = fewest.min(self.server.app.statements.count() - before);
        }
        fewest
    }

    /// Statements the node has sent so far (BEGIN and COMMIT excepted): the difference around
    /// a request is what it cost in round trips.
    pub fn statements(&self) -> u64 {
        self.server.app.statements.count()
    }

    /// The node's application, for the tests that call a service in process (to count the
    /// statements of one call, free of the HTTP layer's).
    pub fn app(&self) -> &Arc<forecourt_core::App> {
        &self.server.app
    }

    /// Repeats a GET until it answers `want` or [`PROPAGATION`] passes; returns the last answer.
    pub async fn poll_get(&self, path: &str, token: &str, want: u16) -> (StatusCode, Value) {
        self.poll_until(PROPAGATION, Method::GET, path, token, || Value::Null, want)
            .await
    }

    /// Logs in and returns the token; panics unless the login succeeds.
    pub async fn login(&self, email: &str, password: &str) -> String {
        self.post(
            "/api/v1/auth/login",
            "",
            json!({"email": email, "password": password}),
        )
        .await
        .ok(200)
        .str("token")
    }

    /// A token of the operator.
    pub async fn operator(&self) -> String {
        self.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await
    }

    /// Creates a reseller with its first user (operator token) and logs that user in.
    pub async fn create_reseller(&self, op_token: &str) -> Account {
        let email = unique_email("reseller");
        let body = json!({"name": unique("Reseller"), "user": {"email": email, "name": "Reseller User", "password": PASSWORD}});
        let created = self
            .post("/api/v1/platform/resellers", op_token, body)
            .await
            .ok(201);
        let token = self.login(&email, PASSWORD).await;
        Account {
            id: created.str("id"),
            user_id: created.str("user_id"),
            email,
            password: PASSWORD.into(),
            token,
        }
    }

    /// Onboards a tenant (`licence` "go" or "expert") and logs its first admin in.
    pub async fn onboard(&self, token: &str, licence: &str) -> Tenant {
        let admin_email = unique_email("admin");
        let body = onboarding(licence, &admin_email, Some(PASSWORD));
        let ids = self
            .post("/api/v1/platform/tenants", token, body)
            .await
            .ok(201);
        let admin_token = self.login(&admin_email, PASSWORD).await;
        Tenant {
            tenant_id: ids.str("tenant_id"),
            company_id: ids.str("company_id"),
            establishment_id: ids.str("establishment_id"),
            admin_user_id: ids.str("admin_user_id"),
            admin_email,
            admin_password: PASSWORD.into(),
            admin_token,
        }
    }

    /// Onboards a tenant as the operator.
    pub async fn tenant(&self, licence: &str) -> Tenant {
        let op = self.operator().await;
        self.onboard(&op, licence).await
    }

    /// Creates a user with `roles` (admin token) and logs them in.
    pub async fn create_user(
        &self,
        admin_token: &str,
        roles: &[&str],
        establishment_id: Option<&str>,
    ) -> Account {
        let email = unique_email("user");
        let mut body =
            json!({"email": email, "name": unique("User"), "password": PASSWORD, "roles": roles});
        if let Some(e) = establishment_id {
            body["establishment_id"] = json!(e);
        }
        let id = self
            .post("/api/v1/users", admin_token, body)
            .await
            .ok(201)
            .str("id");
        let token = self.login(&email, PASSWORD).await;
        Account {
            user_id: id.clone(),
            id,
            email,
            password: PASSWORD.into(),
            token,
        }
    }

    /// Creates a person contact with a unique name and email; returns its id.
    pub async fn create_contact(&self, token: &str) -> String {
        let body = json!({
            "kind": "person",
            "first_name": "Jan",
            "last_name": unique("Peeters"),
            "emails": [unique_email("contact")],
        });
        self.post("/api/v1/contacts", token, body)
            .await
            .ok(201)
            .str("id")
    }

    /// A second company of the tenant with an establishment of its own (admin token); returns
    /// `(company_id, establishment_id)`.
    pub async fn second_site(&self, t: &Tenant) -> (String, String) {
        let company = self
            .post(
                "/api/v1/companies",
                &t.admin_token,
                json!({"name": unique("Company")}),
            )
            .await
            .ok(201)
            .str("id");
        let site = self
            .post(
                "/api/v1/establishments",
                &t.admin_token,
                json!({"name": unique("Site"), "company_id": company}),
            )
            .await
            .ok(201)
            .str("id");
        (company, site)
    }

    /// Creates a lead source (Expert tenant) and returns it.
    pub async fn create_source(&self, token: &str) -> Value {
        self.post(
            "/api/v1/lead-sources",
            token,
            json!({"name": unique("Source")}),
        )
        .await
        .ok(201)
    }

    /// The folder where this node writes mail.
    pub fn outbox_dir(&self) -> PathBuf {
        self.config.outbox_dir()
    }

    /// The contents of every `.eml` file in the outbox.
    pub fn outbox_files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.outbox_dir()) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits up to 10 s for a mail mentioning `to` and returns it.
    pub async fn wait_for_mail(&self, to: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(mail) = self.outbox_files().into_iter().find(|m| m.contains(to)) {
                return mail;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} in {}",
                self.outbox_dir().display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://root@127.0.0.1:5432/test", "x"),
            "postgres://root@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn token_found_in_quoted_printable() {
        let tok = format!("fci_{}", "ab".repeat(32));
        let mail = format!(
            "link: https://x/accept?token=3D{}=\n{}\n",
            &tok[..20],
            &tok[20..]
        );
        assert_eq!(invitation_token(&mail), Some(tok));
    }
}
