//! Health, readiness, the OpenAPI document, and running with Redis down.

use forecourt_core::secret::Secret;
use forecourt_tests::{Expect, Method, TestServer};
use serde_json::Value;

#[tokio::test]
async fn health_readiness_and_docs() {
    let s = TestServer::start().await;
    let (status, _) = s.get("/healthz", "").await;
    assert_eq!(status, 200);
    let ready = s.get("/readyz", "").await.ok(200);
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["database"], "ok");
    let expected_cache = if s.config.redis_url.is_some() {
        "ok"
    } else {
        "memory"
    };
    assert_eq!(ready["cache"], expected_cache);

    let doc = s.get("/api/v1/openapi.json", "").await.ok(200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "not OpenAPI 3"
    );
    for path in [
        "/api/v1/lead-sources",
        "/api/v1/platform/tenants",
        "/api/v1/permissions",
        "/api/v1/auth/login",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let docs = s.send(Method::GET, "/docs", "", &Value::Null).await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.content_type().starts_with("text/html"),
        "{}",
        docs.content_type()
    );
}

#[tokio::test]
async fn redis_down_degrades_but_serves() {
    let s = TestServer::start_with(|cfg| cfg.redis_url = Some(Secret::new("redis://127.0.0.1:1")))
        .await;
    let ready = s.get("/readyz", "").await.ok(200);
    assert_eq!(
        (ready["status"].as_str(), ready["cache"].as_str()),
        (Some("degraded"), Some("down")),
        "{ready}"
    );
    assert_eq!(ready["database"], "ok");

    let t = s.tenant("expert").await;
    s.get("/api/v1/me", &t.admin_token).await.ok(200);
    s.get("/api/v1/lead-sources", &t.admin_token).await.ok(200);
    s.create_source(&t.admin_token).await;
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    s.get("/api/v1/lead-sources", &sp.token).await.ok(200);
}
