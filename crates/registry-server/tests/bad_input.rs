//! Bad input over a real socket: each kind gets its 4xx with a `{code, message}` body naming
//! the field, and the server keeps serving afterwards.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use registry::Registry;
use reqwest::blocking::Client;
use serde_json::Value;

use common::TestServer;

struct Case {
    label: &'static str,
    method: reqwest::Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn case(
    label: &'static str,
    method: reqwest::Method,
    path: &str,
    body: &str,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        label,
        method,
        path: path.to_owned(),
        content_type: Some("application/json"),
        body: body.as_bytes().to_vec(),
        status,
        code,
        field: None,
    }
}

fn with_field(mut case: Case, field: &'static str) -> Case {
    case.field = Some(field);
    case
}

#[test]
fn bad_input_gets_4xx_and_server_keeps_serving() {
    let server = TestServer::start_with(|config| config.options.body_limit_bytes = 64 * 1024);
    let client = Client::new();
    let token = server.admin.expose_secret().to_owned();
    use reqwest::Method as M;
    let mint = "/api/v1/registrations/batches";
    let deep_nesting = format!(
        r#"{{"count": 1, "metadata": {{"same": {{"x": {}{}}}}}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let oversized =
        format!(r#"{{"count": 1, "metadata": {{"same": {{"note": "{}"}}}}}}"#, "x".repeat(200 * 1024));

    let cases = [
        case("malformed JSON", M::POST, mint, "{\"count\": 1", 400, "malformed_json"),
        case("trailing garbage", M::POST, mint, "{\"count\": 1} xyz", 400, "malformed_json"),
        case("deep nesting", M::POST, mint, &deep_nesting, 400, "malformed_json"),
        with_field(
            case("count as text", M::POST, mint, r#"{"count": "ten"}"#, 422, "invalid_input"),
            "count",
        ),
        with_field(case("negative count", M::POST, mint, r#"{"count": -1}"#, 422, "invalid_input"), "count"),
        with_field(
            case("huge count", M::POST, mint, r#"{"count": 99999999999}"#, 422, "invalid_input"),
            "count",
        ),
        with_field(
            case("fractional count", M::POST, mint, r#"{"count": 1.5}"#, 422, "invalid_input"),
            "count",
        ),
        with_field(case("zero count", M::POST, mint, r#"{"count": 0}"#, 422, "invalid_input"), "count"),
        with_field(
            case("count over batch limit", M::POST, mint, r#"{"count": 10001}"#, 422, "invalid_input"),
            "count",
        ),
        with_field(case("missing count", M::POST, mint, r#"{}"#, 422, "invalid_input"), "count"),
        with_field(
            case(
                "unknown chip",
                M::POST,
                mint,
                r#"{"count": 1, "target_chip": "esp8266"}"#,
                422,
                "invalid_input",
            ),
            "target_chip",
        ),
        with_field(
            case(
                "bad metadata",
                M::POST,
                mint,
                r#"{"count": 1, "metadata": {"same": {"target": 5}}}"#,
                422,
                "invalid_input",
            ),
            "metadata.same",
        ),
        case("oversized body", M::POST, mint, &oversized, 413, "body_too_large"),
        Case {
            content_type: Some("text/plain"),
            ..case("text body", M::POST, mint, r#"{"count": 1}"#, 415, "unsupported_media_type")
        },
        Case {
            content_type: None,
            ..case("no content type", M::POST, mint, r#"{"count": 1}"#, 415, "unsupported_media_type")
        },
        with_field(
            case(
                "traversal in node ID",
                M::GET,
                "/api/v1/registrations/..%2F..%2Fetc%2Fpasswd",
                "",
                422,
                "invalid_input",
            ),
            "node_id",
        ),
        with_field(
            case(
                "upper-case node ID",
                M::GET,
                "/api/v1/registrations/ABCDEFGHIJKLMNOP",
                "",
                422,
                "invalid_input",
            ),
            "node_id",
        ),
        with_field(
            case("traversal in download ID", M::GET, "/api/v1/downloads/..%2F..", "", 422, "invalid_input"),
            "download_id",
        ),
        with_field(
            case(
                "node ID as download ID",
                M::GET,
                "/api/v1/downloads/abcdefghijklmnop",
                "",
                422,
                "invalid_input",
            ),
            "download_id",
        ),
        with_field(
            case("negative limit", M::GET, "/api/v1/registrations?limit=-5", "", 422, "invalid_input"),
            "limit",
        ),
        with_field(
            case("zero limit", M::GET, "/api/v1/registrations?limit=0", "", 422, "invalid_input"),
            "limit",
        ),
        with_field(
            case("unknown status", M::GET, "/api/v1/registrations?status=gone", "", 422, "invalid_input"),
            "status",
        ),
        with_field(
            case("unknown parameter", M::GET, "/api/v1/registrations?colour=red", "", 422, "invalid_input"),
            "colour",
        ),
        with_field(
            case("audit node ID", M::GET, "/api/v1/audit?node_id=../x", "", 422, "invalid_input"),
            "node_id",
        ),
        with_field(
            case(
                "reserve with no holder",
                M::POST,
                "/api/v1/reservations",
                r#"{"target_chip": "esp32", "holder": ""}"#,
                422,
                "invalid_input",
            ),
            "holder",
        ),
        with_field(
            case(
                "negative lease",
                M::POST,
                "/api/v1/reservations",
                r#"{"target_chip": "esp32", "holder": "b", "lease_seconds": -1}"#,
                422,
                "invalid_input",
            ),
            "lease_seconds",
        ),
        with_field(
            case(
                "assignment wrong type",
                M::PUT,
                "/api/v1/registrations/zzzzzzzzzzzzzzzz/assignment",
                r#"{"room_id": "three"}"#,
                422,
                "invalid_input",
            ),
            "room_id",
        ),
        with_field(
            case("unknown field", M::POST, mint, r#"{"count": 1, "colour": "red"}"#, 422, "invalid_input"),
            "colour",
        ),
        with_field(
            case("array body", M::POST, mint, r#"[1, null, "none", null]"#, 422, "invalid_input"),
            "body",
        ),
        with_field(
            case(
                "oversized metadata",
                M::POST,
                mint,
                &format!(
                    r#"{{"count": 1, "metadata": {{"same": {{"note": "{}"}}}}}}"#,
                    "x".repeat(20 * 1024)
                ),
                422,
                "invalid_input",
            ),
            "metadata.same",
        ),
        with_field(
            case(
                "repeated parameter",
                M::GET,
                "/api/v1/registrations?status=available&status=assigned",
                "",
                422,
                "invalid_input",
            ),
            "status",
        ),
        with_field(
            case(
                "offset beyond i64",
                M::GET,
                "/api/v1/registrations?offset=9223372036854775808",
                "",
                422,
                "invalid_input",
            ),
            "offset",
        ),
        with_field(
            case("negative before_id", M::GET, "/api/v1/audit?before_id=-1", "", 422, "invalid_input"),
            "before_id",
        ),
        with_field(
            case(
                "traversal in house slug",
                M::PUT,
                "/api/v1/registrations/zzzzzzzzzzzzzzzz/assignment",
                r#"{"house_slug": "../../etc"}"#,
                422,
                "invalid_input",
            ),
            "house_slug",
        ),
        with_field(
            case(
                "negative room",
                M::PUT,
                "/api/v1/registrations/zzzzzzzzzzzzzzzz/assignment",
                r#"{"room_id": -4}"#,
                422,
                "invalid_input",
            ),
            "room_id",
        ),
        with_field(
            case(
                "misspelt assignment field",
                M::PUT,
                "/api/v1/registrations/zzzzzzzzzzzzzzzz/assignment",
                r#"{"house_slg": "maple-12"}"#,
                422,
                "invalid_input",
            ),
            "house_slg",
        ),
        case(
            "long URI",
            M::GET,
            &format!("/api/v1/registrations?search={}", "x".repeat(16 * 1024)),
            "",
            414,
            "uri_too_long",
        ),
        case(
            "unknown node",
            M::GET,
            "/api/v1/registrations/zzzzzzzzzzzzzzzz",
            "",
            404,
            "registration_not_found",
        ),
    ];

    for case in &cases {
        let mut request =
            client.request(case.method.clone(), format!("{}{}", server.url(), case.path)).bearer_auth(&token);
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        if !case.body.is_empty() {
            request = request.body(case.body.clone());
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap_or_default();

        assert_eq!(status, case.status, "{}: {body}", case.label);
        assert_eq!(body["code"], case.code, "{}: {body}", case.label);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}: {body}", case.label);
        if let Some(field) = case.field {
            assert_eq!(body["field"], field, "{}: {body}", case.label);
        }
        let message = body["message"].as_str().unwrap_or_default();
        for leak in ["expected u32", "struct MintRequest", "expected one of `"] {
            assert!(!message.contains(leak), "{}: serde wording in {message}", case.label);
        }
        assert!(message.len() < 400, "{}: {} characters", case.label, message.len());
    }

    let over_limit = client
        .post(format!("{}{mint}", server.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"count": 10001}))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert!(
        over_limit["message"].as_str().unwrap().contains("10000"),
        "the batch maximum is stated: {over_limit}"
    );
    for count in ["0", "99999999999", "\"ten\""] {
        let body = client
            .post(format!("{}{mint}", server.url()))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(format!(r#"{{"count": {count}}}"#))
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("from 1 to 10000"),
            "count {count}: the server's maximum is stated: {message}"
        );
    }

    let counts = client
        .get(format!("{}/api/v1/registrations/counts", server.url()))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(counts.status().as_u16(), 200, "the server still serves");
    assert_eq!(counts.json::<Value>().unwrap()["total"], 0, "no bad request created anything");
}

#[test]
fn raw_traversal_paths_are_not_routed() {
    let server = TestServer::start();
    for path in [
        "/api/v1/registrations/../../../etc/passwd",
        "/firmware/../../etc/passwd",
        "/api/v1/registrations/%00",
    ] {
        let mut stream = TcpStream::connect(server.address).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            server.admin.expose_secret()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status_line = answer.lines().next().unwrap_or_default();
        let status: u16 = status_line.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        assert!((400..500).contains(&status), "{path}: {status_line}");
    }

    let registry = server.registry(&server.admin);
    assert_eq!(registry.counts().unwrap().total, 0);
}

#[test]
fn server_failure_body_is_generic() {
    let server = TestServer::start();
    let registry = server.registry(&server.admin);
    // Dropping the audit table makes every change fail inside the database.
    rusqlite::Connection::open(&server.database).unwrap().execute_batch("DROP TABLE audit_log").unwrap();

    let response = Client::new()
        .post(format!("{}/api/v1/registrations/batches", server.url()))
        .bearer_auth(server.admin.expose_secret())
        .json(&serde_json::json!({"count": 1}))
        .send()
        .unwrap();

    assert_eq!(response.status().as_u16(), 500);
    assert!(response.headers().contains_key("x-request-id"));
    let body = response.text().unwrap();
    assert!(!body.contains("audit_log"), "{body}");
    assert!(!body.contains(server.database.to_str().unwrap()), "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "database_failed");

    let error = server.impatient_registry(&server.admin).mint_batch(&registry::MintRequest {
        count: 1,
        target_chip: None,
        metadata: registry::NodeMetadata::None,
        idempotency_key: None,
    });
    assert_eq!(error.unwrap_err().code(), "server_failed");
    assert_eq!(registry.counts().unwrap().total, 0, "reads still work");
}

#[test]
fn provisioning_time_must_be_plausible() {
    let server = TestServer::start();
    let registry = server.registry(&server.admin);
    let node_id = registry
        .mint_batch(&registry::MintRequest {
            count: 1,
            target_chip: None,
            metadata: registry::NodeMetadata::None,
            idempotency_key: None,
        })
        .unwrap()
        .remove(0)
        .registration
        .node_id;

    for at in ["1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z"] {
        let response = Client::new()
            .post(format!("{}/api/v1/registrations/{node_id}/provisioned", server.url()))
            .bearer_auth(server.admin.expose_secret())
            .json(&serde_json::json!({ "at": at }))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "{at}");
        assert_eq!(response.json::<Value>().unwrap()["field"], "at", "{at}");
    }
    assert_eq!(registry.get(&node_id).unwrap().provisioned_at, None);

    let long_id = "a".repeat(5000);
    let response = Client::new()
        .get(format!("{}/api/v1/registrations/{long_id}", server.url()))
        .bearer_auth(server.admin.expose_secret())
        .send()
        .unwrap();
    let body = response.json::<Value>().unwrap();
    assert!(body["message"].as_str().unwrap().len() < 300, "the echoed ID is cut: {body}");
}
