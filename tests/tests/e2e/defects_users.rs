//! Issue 9, items 4, 5, 15 and 16: API keys and user edits stay within the editor's reach,
//! the invitation and password-reset pages exist, and creating a user reveals nothing about
//! other tenants.

use forecourt_tests::{
    Expect, Json, Method, PASSWORD, Reply, StatusCode, Tenant, TestServer, invitation_token,
    onboarding, unique, unique_email,
};
use serde_json::{Value, json};
use std::time::Duration;

/// Gives `user` a direct grant (admin token).
async fn grant(s: &TestServer, t: &Tenant, user: &str, object: &str, action: &str, scope: &str) {
    s.post(
        "/api/v1/permissions",
        &t.admin_token,
        json!({"subject": format!("user:{user}"), "object": object, "action": action, "scope": scope}),
    )
    .await
    .ok(201);
}

async fn new_key(s: &TestServer, token: &str, user: &str) -> (StatusCode, Value) {
    s.post(
        "/api/v1/api-keys",
        token,
        json!({"name": "integration", "user_id": user}),
    )
    .await
}

// Item 4.
#[tokio::test]
async fn api_keys_are_only_created_for_users_the_caller_manages() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let (_, e2) = s.second_site(&t).await;
    let e1 = t.establishment_id.clone();
    let m1 = s.create_user(&t.admin_token, &["manager"], Some(&e1)).await;
    let s1 = s
        .create_user(&t.admin_token, &["salesperson"], Some(&e1))
        .await;
    let s2 = s
        .create_user(&t.admin_token, &["salesperson"], Some(&e2))
        .await;
    // The delegated grant of the issue: manager E1 may manage API keys.
    grant(&s, &t, &m1.id, "settings.api_keys", "write", "tenant").await;

    // A user of another establishment: not even visible to him.
    new_key(&s, &m1.token, &s2.id)
        .await
        .problem(404, "not_found");
    // Visible (users/read at tenant scope) but not his to manage: 403.
    grant(&s, &t, &m1.id, "users", "read", "tenant").await;
    new_key(&s, &m1.token, &s2.id)
        .await
        .problem(403, "forbidden");
    // A colleague of his own site: only once he may edit that colleague.
    new_key(&s, &m1.token, &s1.id)
        .await
        .problem(403, "forbidden");
    grant(&s, &t, &m1.id, "users", "write", "establishment").await;
    new_key(&s, &m1.token, &s2.id)
        .await
        .problem(403, "forbidden");
    let colleague = new_key(&s, &m1.token, &s1.id).await.ok(201);
    let me = s.get("/api/v1/me", &colleague.str("key")).await.ok(200);
    assert_eq!(me["user"]["id"], s1.id.as_str(), "the key acts as its user");
    // The key is its user, no more: s1 reads only himself.
    s.get(&format!("/api/v1/users/{}", m1.id), &colleague.str("key"))
        .await
        .problem(404, "not_found");

    // A key for oneself needs no right over users, but a key cannot mint keys (they would
    // outlive its revocation).
    let own = new_key(&s, &m1.token, &m1.id).await.ok(201);
    new_key(&s, &own.str("key"), &m1.id)
        .await
        .problem(403, "forbidden");

    // An establishment-scoped key grant reaches only the own site, whatever the users grant.
    let m2 = s.create_user(&t.admin_token, &["manager"], Some(&e1)).await;
    grant(
        &s,
        &t,
        &m2.id,
        "settings.api_keys",
        "write",
        "establishment",
    )
    .await;
    grant(&s, &t, &m2.id, "users", "write", "tenant").await;
    new_key(&s, &m2.token, &s2.id)
        .await
        .problem(403, "forbidden");
    new_key(&s, &m2.token, &s1.id).await.ok(201);

    let keys = s.get("/api/v1/api-keys", &t.admin_token).await.ok(200);
    assert!(
        keys.items().iter().all(|k| k["user_id"] != s2.id.as_str()),
        "a key acts for the other site's user: {keys}"
    );
}

// Item 5.
#[tokio::test]
async fn establishment_changes_stay_within_the_editors_reach() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let (c2, e2) = s.second_site(&t).await;
    let e1 = t.establishment_id.clone();
    let m1 = s.create_user(&t.admin_token, &["manager"], Some(&e1)).await;
    let s1 = s
        .create_user(&t.admin_token, &["salesperson"], Some(&e1))
        .await;
    grant(&s, &t, &m1.id, "users", "write", "establishment").await;
    // Managers read contacts at establishment scope (a tenant-scope grant sees every
    // company's contacts), so a contact kept to the second company is out of m1's reach.
    // Salespeople lose it too, so m1 still holds every right of the colleague he edits.
    for role in ["role:manager", "role:salesperson"] {
        s.delete(
            "/api/v1/permissions",
            &t.admin_token,
            json!({"subject": role, "object": "contacts", "action": "read", "scope": "tenant"}),
        )
        .await
        .ok(204);
    }
    // A contact kept to the second company: the manager of site 1 does not see it.
    let kept = s
        .post(
            "/api/v1/contacts",
            &t.admin_token,
            json!({"kind": "person", "first_name": "Kept", "last_name": unique("Elsewhere"),
                   "emails": [unique_email("kept")], "company_id": c2}),
        )
        .await
        .ok(201)
        .str("id");
    let kept_path = format!("/api/v1/contacts/{kept}");
    s.get(&kept_path, &m1.token).await.problem(404, "not_found");

    let me = format!("/api/v1/users/{}", m1.id);
    let colleague = format!("/api/v1/users/{}", s1.id);
    for (path, body) in [
        (&me, json!({"establishment_id": null})),
        (&me, json!({"establishment_id": e2})),
        (&colleague, json!({"establishment_id": null})),
        (&colleague, json!({"establishment_id": e2})),
    ] {
        s.patch(path, &m1.token, body.clone())
            .await
            .problem(403, "forbidden");
    }
    for (path, user) in [(&me, &m1), (&colleague, &s1)] {
        let now = s.get(path, &t.admin_token).await.ok(200);
        assert_eq!(now["establishment_id"], e1.as_str(), "{} moved", user.email);
    }
    s.get(&kept_path, &m1.token).await.problem(404, "not_found");
    // Within his reach he still edits, and restating the current site is no change.
    let renamed = s
        .patch(
            &colleague,
            &m1.token,
            json!({"name": "Renamed", "establishment_id": e1}),
        )
        .await
        .ok(200);
    assert_eq!(renamed["name"], "Renamed");

    // Nobody changes their own establishment, not even an admin; an admin moves others.
    s.patch(
        &format!("/api/v1/users/{}", t.admin_user_id),
        &t.admin_token,
        json!({"establishment_id": null}),
    )
    .await
    .problem(403, "forbidden");
    let moved = s
        .patch(&colleague, &t.admin_token, json!({"establishment_id": e2}))
        .await
        .ok(200);
    assert_eq!(moved["establishment_id"], e2.as_str());
    let none = s
        .patch(
            &colleague,
            &t.admin_token,
            json!({"establishment_id": null}),
        )
        .await
        .ok(200);
    assert!(none["establishment_id"].is_null(), "{none}");
}

/// A user view without what differs between any two users.
fn shape(user: &Value) -> Value {
    let mut v = user.clone();
    for k in ["id", "email", "name", "created_at", "updated_at"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

// Item 16.
#[tokio::test]
async fn an_email_of_another_tenant_is_answered_like_a_free_one() {
    let s = TestServer::start().await;
    let (a, b) = (s.tenant("go").await, s.tenant("go").await);
    let elsewhere = a.admin_email.clone();
    let free = unique_email("free");
    let invite =
        |email: &str| json!({"email": email, "name": "New Colleague", "roles": ["salesperson"]});

    let taken = s
        .post("/api/v1/users", &b.admin_token, invite(&elsewhere))
        .await
        .ok(201);
    let fresh = s
        .post("/api/v1/users", &b.admin_token, invite(&free))
        .await
        .ok(201);
    assert_eq!(shape(&taken), shape(&fresh), "{taken} vs {fresh}");
    assert_eq!(taken["email"], elsewhere.as_str());
    assert_eq!(
        shape(
            &s.get(
                &format!("/api/v1/users/{}", taken.str("id")),
                &b.admin_token
            )
            .await
            .ok(200)
        ),
        shape(
            &s.get(
                &format!("/api/v1/users/{}", fresh.str("id")),
                &b.admin_token
            )
            .await
            .ok(200)
        ),
    );

    // With a password too.
    let other = s.create_user(&a.admin_token, &["salesperson"], None).await;
    let with_password =
        |email: &str| json!({"email": email, "name": "N", "password": "a-new-password-9"});
    let taken_pw = s
        .post("/api/v1/users", &b.admin_token, with_password(&other.email))
        .await
        .ok(201);
    let free_pw = s
        .post(
            "/api/v1/users",
            &b.admin_token,
            with_password(&unique_email("free")),
        )
        .await
        .ok(201);
    assert_eq!(shape(&taken_pw), shape(&free_pw));

    // No second login: the address still signs in to its own account only.
    let me = s
        .get("/api/v1/me", &s.login(&elsewhere, PASSWORD).await)
        .await
        .ok(200);
    assert_eq!(me["tenant"]["id"], a.tenant_id.as_str());
    s.post(
        "/api/v1/auth/login",
        "",
        json!({"email": other.email, "password": "a-new-password-9"}),
    )
    .await
    .problem(401, "unauthorized");

    // The owner of the address is told, and gets no invitation to accept.
    let notice = s.wait_for_mail(&elsewhere).await;
    assert!(invitation_token(&notice).is_none(), "{notice}");
    assert!(invitation_token(&s.wait_for_mail(&free).await).is_some());

    // Within one tenant a duplicate is still a plain 409.
    for email in [&free, &elsewhere, &b.admin_email] {
        let body = s
            .post("/api/v1/users", &b.admin_token, invite(email))
            .await
            .problem(409, "email_taken");
        assert_eq!(body["field"], "email");
    }
}

/// The path and query of the link in a mail to `{public_url}{page}`.
fn link_path(mail: &str, page: &str) -> String {
    let token = invitation_token(mail).unwrap_or_else(|| panic!("no token in {mail}"));
    let text = mail
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(
        text.contains(&format!("{page}?token={token}")),
        "the link does not lead to {page}: {mail}"
    );
    format!("{page}?token={token}")
}

/// Asserts an HTML page behind a strict Content-Security-Policy; returns its text.
async fn page(s: &TestServer, path: &str) -> String {
    let reply = s.send(Method::GET, path, "", &Value::Null).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    assert!(reply.content_type().starts_with("text/html"), "{path}");
    let csp = reply.header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "CSP of {path}: {csp:?}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(reply.header("referrer-policy"), "no-referrer");
    reply.body.as_str().unwrap_or_default().to_string()
}

// Item 15: the invitation page.
#[tokio::test]
async fn the_invitation_link_opens_a_page_in_the_invitees_language() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let mut body = onboarding("go", &unique_email("admin"), Some(PASSWORD));
    body["language"] = json!("nl");
    let admin_email = body["admin"]["email"].as_str().unwrap().to_string();
    s.post("/api/v1/platform/tenants", &op, body).await.ok(201);
    let admin = s.login(&admin_email, PASSWORD).await;
    let email = unique_email("invitee");
    s.post(
        "/api/v1/users",
        &admin,
        json!({"email": email, "name": "Ine", "roles": ["salesperson"]}),
    )
    .await
    .ok(201);
    let path = link_path(&s.wait_for_mail(&email).await, "/accept-invitation");

    let html = page(&s, &path).await;
    assert!(html.contains("lang=\"nl\""), "{html}");
    assert!(html.contains("Kies het wachtwoord"), "{html}");
    assert!(html.contains("/api/v1/auth/accept-invitation"), "{html}");
    assert!(html.contains("/assets/account.js"), "{html}");
    assert!(
        !html.contains("https://"),
        "the page loads nothing from elsewhere: {html}"
    );
    let script = s
        .send(Method::GET, "/assets/account.js", "", &Value::Null)
        .await;
    assert_eq!(script.status, 200);
    assert!(script.content_type().starts_with("text/javascript"));
    assert!(script.body.as_str().unwrap().contains("fetch("));

    // The form's call, as the script makes it.
    let token = path.split("token=").nth(1).unwrap().to_string();
    s.post(
        "/api/v1/auth/accept-invitation",
        "",
        json!({"token": token, "password": "een-goed-wachtwoord"}),
    )
    .await
    .ok(204);
    s.login(&email, "een-goed-wachtwoord").await;
    let used = page(&s, &path).await;
    assert!(used.contains("niet meer geldig"), "{used}");
    assert!(!used.contains("<form"), "{used}");

    // Without a token the page follows the browser's language.
    let reply = s
        .send_with(
            Method::GET,
            "/accept-invitation",
            "",
            &[("accept-language", "fr-BE,fr;q=0.9")],
            vec![],
        )
        .await;
    assert!(reply.body.as_str().unwrap().contains("lang=\"fr\""));
}

async fn reset(s: &TestServer, email: &str) -> Reply {
    s.send(
        Method::POST,
        "/api/v1/auth/password-reset",
        "",
        &json!({"email": email}),
    )
    .await
}

// Item 15: password reset.
#[tokio::test]
async fn a_password_reset_link_works_once_and_signs_out_everywhere() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let user = s.create_user(&t.admin_token, &["salesperson"], None).await;
    let nobody = unique_email("nobody");

    let known = reset(&s, &user.email).await;
    let unknown = reset(&s, &nobody).await;
    assert_eq!(known.status, 202, "{}", known.body);
    assert_eq!(
        (known.status, &known.body),
        (unknown.status, &unknown.body),
        "the answer tells whether the account exists"
    );
    let bad = reset(&s, "not an email").await;
    assert_eq!(bad.assert_problem(422)["field"], "email");

    let path = link_path(&s.wait_for_mail(&user.email).await, "/reset-password");
    let token = path.split("token=").nth(1).unwrap().to_string();
    assert!(token.len() >= 40, "{token}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !s.outbox_files().iter().any(|m| m.contains(&nobody)),
        "a mail went to an address without an account"
    );
    let html = page(&s, &path).await;
    // The tenant speaks French (the default).
    assert!(html.contains("lang=\"fr\""), "{html}");
    assert!(
        html.contains("/api/v1/auth/password-reset/confirm"),
        "{html}"
    );

    let confirm = |password: &str| json!({"token": token, "password": password});
    s.post("/api/v1/auth/password-reset/confirm", "", confirm("short"))
        .await
        .invalid("password");
    s.post(
        "/api/v1/auth/password-reset/confirm",
        "",
        confirm("a-brand-new-secret"),
    )
    .await
    .ok(204);
    s.get("/api/v1/me", &user.token)
        .await
        .problem(401, "unauthorized");
    s.post(
        "/api/v1/auth/login",
        "",
        json!({"email": user.email, "password": PASSWORD}),
    )
    .await
    .problem(401, "unauthorized");
    s.login(&user.email, "a-brand-new-secret").await;
    // Single use.
    s.post(
        "/api/v1/auth/password-reset/confirm",
        "",
        confirm("yet-another-secret"),
    )
    .await
    .problem(404, "not_found");
    assert!(page(&s, &path).await.contains("plus valable"));
    s.login(&user.email, "a-brand-new-secret").await;
}

// Item 15: throttling.
#[tokio::test]
async fn password_reset_requests_are_throttled_per_account_and_per_address() {
    let s = TestServer::start_with(|c| {
        c.login_max_failures_per_account = 2;
        c.login_max_failures_per_address = 4;
    })
    .await;
    let t = s.tenant("go").await;
    let nobody = unique_email("nobody");
    for email in [&t.admin_email, &nobody] {
        assert_eq!(reset(&s, email).await.status, 202);
        assert_eq!(reset(&s, email).await.status, 202);
        let limited = reset(&s, email).await;
        limited.assert_problem(429);
        assert!(
            !limited.header("retry-after").is_empty(),
            "{:?}",
            limited.headers
        );
    }
    // Four requests came from this address: a fresh email is refused too.
    reset(&s, &unique_email("fresh")).await.assert_problem(429);
}
