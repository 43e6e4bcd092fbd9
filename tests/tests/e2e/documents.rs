//! Documents of the lead page: upload (raw or multipart) within the upload limit and the type
//! allowlist, stored per tenant behind the storage trait, downloaded intact, never across
//! tenants.

use forecourt_tests::{Expect, Json, Tenant, TestServer};
use reqwest::Method;
use serde_json::json;

async fn opportunity(s: &TestServer, t: &Tenant) -> String {
    let contact = s.create_contact(&t.admin_token).await;
    let created = s
        .post(
            "/api/v1/opportunities",
            &t.admin_token,
            json!({"contacts": [{"contact_id": contact}]}),
        )
        .await
        .ok(201);
    created.str("id")
}

fn pdf(len: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n".to_vec();
    b.resize(len.max(b.len()), b'x');
    b
}

async fn upload(
    s: &TestServer,
    token: &str,
    opp: &str,
    ct: &str,
    name: &str,
    bytes: Vec<u8>,
) -> forecourt_tests::Reply {
    let disposition = format!("attachment; filename=\"{name}\"");
    s.send_with(
        Method::POST,
        &format!("/api/v1/opportunities/{opp}/documents"),
        token,
        &[("content-type", ct), ("content-disposition", &disposition)],
        bytes,
    )
    .await
}

#[tokio::test]
async fn upload_list_download_round_trip() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let opp = opportunity(&s, &t).await;
    let body = pdf(5000);
    let r = upload(
        &s,
        &t.admin_token,
        &opp,
        "application/pdf",
        "bon de commande.pdf",
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["filename"], "bon de commande.pdf");
    assert_eq!(r.body["size"], 5000);
    assert_eq!(r.body["content_type"], "application/pdf");

    // A multipart form works too, and a client path never reaches the stored name.
    let boundary = "XyZboundary";
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"..\\\\..\\\\carte grise.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&png);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let r = s
        .send_with(
            Method::POST,
            &format!("/api/v1/opportunities/{opp}/documents"),
            &t.admin_token,
            &[("content-type", &ct)],
            form,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["filename"], "carte grise.png");
    assert_eq!(r.body["size"], png.len());

    let list = s
        .get(
            &format!("/api/v1/opportunities/{opp}/documents"),
            &t.admin_token,
        )
        .await
        .ok(200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["carte grise.png", "bon de commande.pdf"]);

    let (status, headers, bytes) = s
        .fetch_bytes(
            &format!("/api/v1/opportunities/{opp}/documents/{doc}"),
            &t.admin_token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(bytes, body);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"bon de commande.pdf\""),
        "{disposition}"
    );

    // Stored under the tenant's own folder of the data dir, by id.
    let on_disk = s
        .data_dir
        .path()
        .join("files")
        .join(&t.tenant_id)
        .join("documents")
        .join(&doc);
    assert_eq!(std::fs::read(on_disk).unwrap(), body);

    // The Details tab shows who added it.
    let activity = s
        .get(
            &format!("/api/v1/opportunities/{opp}/activity"),
            &t.admin_token,
        )
        .await
        .ok(200);
    assert!(
        activity["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "document_added"
                && e["changes"]["filename"] == "bon de commande.pdf")
    );
    s.stop().await;
}

#[tokio::test]
async fn types_content_and_names_are_checked() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let opp = opportunity(&s, &t).await;
    let r = upload(
        &s,
        &t.admin_token,
        &opp,
        "application/x-msdownload",
        "setup.exe",
        b"MZ\x90\0".to_vec(),
    )
    .await;
    let p = r.assert_problem(415);
    assert_eq!(p["type"], "unsupported_media_type");
    assert_eq!(p["field"], "content_type");
    // Declared as a PDF but is not one.
    let r = upload(
        &s,
        &t.admin_token,
        &opp,
        "application/pdf",
        "x.pdf",
        b"MZ\x90\0 not a pdf".to_vec(),
    )
    .await;
    assert_eq!(r.assert_problem(422)["type"], "content_mismatch");
    let r = upload(
        &s,
        &t.admin_token,
        &opp,
        "application/pdf",
        "empty.pdf",
        Vec::new(),
    )
    .await;
    assert_eq!(r.assert_problem(422)["field"], "file");
    // No file name.
    let r = s
        .send_raw(
            Method::POST,
            &format!("/api/v1/opportunities/{opp}/documents"),
            &t.admin_token,
            "application/pdf",
            pdf(100),
        )
        .await;
    assert_eq!(r.assert_problem(422)["field"], "filename");
    // Nothing was stored by the refusals.
    let list = s
        .get(
            &format!("/api/v1/opportunities/{opp}/documents"),
            &t.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    s.stop().await;
}

#[tokio::test]
async fn uploads_have_their_own_size_limit() {
    let s = TestServer::start_with(|c| {
        c.max_body_bytes = 64 * 1024;
        c.max_upload_bytes = 256 * 1024;
    })
    .await;
    let t = s.tenant("go").await;
    let opp = opportunity(&s, &t).await;
    // Larger than any JSON body may be, within the upload limit.
    let r = upload(
        &s,
        &t.admin_token,
        &opp,
        "application/pdf",
        "scan.pdf",
        pdf(200 * 1024),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = upload(
        &s,
        &t.admin_token,
        &opp,
        "application/pdf",
        "huge.pdf",
        pdf(300 * 1024),
    )
    .await;
    assert_eq!(r.assert_problem(413)["type"], "payload_too_large");
    // Other routes keep the general limit.
    let big =
        json!({"kind": "person", "last_name": "x".repeat(100 * 1024), "emails": ["a@example.com"]});
    let r = s
        .send(Method::POST, "/api/v1/contacts", &t.admin_token, &big)
        .await;
    r.assert_problem(413);
    s.stop().await;
}

#[tokio::test]
async fn documents_stay_in_their_tenant_and_scope() {
    let s = TestServer::start().await;
    let a = s.tenant("go").await;
    let b = s.tenant("go").await;
    let opp = opportunity(&s, &a).await;
    let doc = upload(
        &s,
        &a.admin_token,
        &opp,
        "text/plain",
        "notes.txt",
        b"km 12000".to_vec(),
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = format!("/api/v1/opportunities/{opp}/documents");
    s.get(&base, &b.admin_token).await.problem(404, "not_found");
    s.get(&format!("{base}/{doc}"), &b.admin_token)
        .await
        .problem(404, "not_found");
    let r = upload(
        &s,
        &b.admin_token,
        &opp,
        "text/plain",
        "x.txt",
        b"x".to_vec(),
    )
    .await;
    r.assert_problem(404);
    // B's own opportunity does not reach A's document by id either.
    let own = opportunity(&s, &b).await;
    s.get(
        &format!("/api/v1/opportunities/{own}/documents/{doc}"),
        &b.admin_token,
    )
    .await
    .problem(404, "not_found");
    // A salesperson of A with `own` scope cannot see an opportunity not assigned to them.
    let sp = s.create_user(&a.admin_token, &["salesperson"], None).await;
    s.get(&format!("{base}/{doc}"), &sp.token)
        .await
        .problem(404, "not_found");
    // Nothing of B's attempt reached A's opportunity.
    let list = s.get(&base, &a.admin_token).await.ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    s.stop().await;
}
