//! Authentication and roles, in-process: every route refuses the roles it does not allow,
//! missing or bad tokens get 401, and repeated failures from one address are slowed down.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use factory_core::{DownloadId, OperatorToken};
use registry_server::{Access, Role, RouteMethod, RouteSpec, app, operators_revoke, routes};
use tempfile::TempDir;
use tower::ServiceExt;

/// Gives each request its own loopback address, so the failure slow-down of one request
/// does not affect the next.
static NEXT_ADDRESS: AtomicU8 = AtomicU8::new(1);

fn fresh_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 1, NEXT_ADDRESS.fetch_add(1, Ordering::Relaxed)], 40000))
}

/// A request for the route with syntactically valid path parameters and an empty JSON body.
fn request_for(spec: &RouteSpec, method: &str, token: Option<&str>, address: SocketAddr) -> Request<Body> {
    let path = spec
        .path
        .replace("{node_id}", "zzzzzzzzzzzzzzzz")
        .replace("{download_id}", DownloadId::generate().as_str())
        .replace("{name}", "nobody")
        .replace("{house_id}", "1")
        .replace("{room_id}", "2");
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let mut request = if spec.request_body.is_some() {
        builder.header(header::CONTENT_TYPE, "application/json").body(Body::from("{}")).unwrap()
    } else {
        builder.body(Body::empty()).unwrap()
    };
    request.extensions_mut().insert(ConnectInfo(address));
    request
}

fn method_of(spec: &RouteSpec) -> &str {
    match &spec.method {
        RouteMethod::One(method) => method.as_str(),
        RouteMethod::Any => "GET",
    }
}

async fn body_code(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    value["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_enforced_on_every_route() {
    let folder = TempDir::new().unwrap();
    let (state, operators) = common::in_process_state(&folder, |_| {});
    let router = app(state);
    let tokens = [
        (Role::Admin, &operators.admin),
        (Role::Technician, &operators.technician),
        (Role::Support, &operators.support),
    ];

    let mut checked = 0;
    for spec in routes() {
        let Access::Operator(permission) = spec.access else { continue };
        for (role, token) in tokens {
            let request = request_for(&spec, method_of(&spec), Some(token.expose_secret()), fresh_address());
            let response = router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let code = body_code(response).await;

            let label = format!("{} {} as {role}", method_of(&spec), spec.path);
            if role.allows(permission) {
                assert_ne!(status, StatusCode::FORBIDDEN, "{label}: {code}");
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{label}: {code}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{label}: {code}");
                assert_eq!(code, "forbidden", "{label}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} route and role pairs were checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_bad_tokens_get_401() {
    let folder = TempDir::new().unwrap();
    let (state, operators) = common::in_process_state(&folder, |_| {});
    let database = folder.path().join("registry.sqlite3");
    operators_revoke(&database, "sue").unwrap();
    let router = app(state);

    let unknown = OperatorToken::generate();
    let ota_shaped = factory_core::OtaToken::generate();
    let credentials: [(&str, Option<String>); 5] = [
        ("no header", None),
        ("unknown token", Some(format!("Bearer {}", unknown.expose_secret()))),
        ("revoked token", Some(format!("Bearer {}", operators.support.expose_secret()))),
        ("OTA token", Some(format!("Bearer {}", ota_shaped.expose_secret()))),
        ("basic scheme", Some(format!("Basic {}", operators.admin.expose_secret()))),
    ];

    for spec in routes() {
        if !matches!(spec.access, Access::Operator(_)) {
            continue;
        }
        for (label, authorization) in &credentials {
            let mut request = request_for(&spec, method_of(&spec), None, fresh_address());
            if let Some(value) = authorization {
                request.headers_mut().insert(header::AUTHORIZATION, value.parse().unwrap());
            }
            let response = router.clone().oneshot(request).await.unwrap();
            let label = format!("{} {} with {label}", method_of(&spec), spec.path);
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{label}");
            assert_eq!(response.headers().get(header::WWW_AUTHENTICATE).unwrap(), "Bearer", "{label}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_slowed_down() {
    let folder = TempDir::new().unwrap();
    let (state, operators) = common::in_process_state(&folder, |_| {});
    let router = app(state);
    let counts = routes().into_iter().find(|spec| spec.operation_id == "count_registrations").unwrap();
    let attacker = fresh_address();
    let bad = OperatorToken::generate();

    let mut statuses = Vec::new();
    for _ in 0..7 {
        let response = router
            .clone()
            .oneshot(request_for(&counts, "GET", Some(bad.expose_secret()), attacker))
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after: u64 =
                response.headers().get(header::RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
            assert!(retry_after >= 1);
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);

    let good_from_attacker = router
        .clone()
        .oneshot(request_for(&counts, "GET", Some(operators.admin.expose_secret()), attacker))
        .await;
    assert_eq!(good_from_attacker.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);

    let other =
        router.clone().oneshot(request_for(&counts, "GET", Some(bad.expose_secret()), fresh_address()));
    assert_eq!(other.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let good_elsewhere =
        router.oneshot(request_for(&counts, "GET", Some(operators.admin.expose_secret()), fresh_address()));
    assert_eq!(good_elsewhere.await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_made_by_server() {
    let folder = TempDir::new().unwrap();
    let (state, operators) = common::in_process_state(&folder, |_| {});
    let registry = state.registry.clone();
    let router = app(state);
    let mint = routes().into_iter().find(|spec| spec.operation_id == "mint_batch").unwrap();

    let mut request = request_for(&mint, "POST", Some(operators.admin.expose_secret()), fresh_address());
    *request.body_mut() = Body::from(r#"{"count": 1}"#);
    request.headers_mut().insert("x-request-id", "bench-3.req-0042".parse().unwrap());
    let response = router.clone().oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let returned = response.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert_eq!(returned.len(), 32, "{returned}");
    assert_ne!(returned, "bench-3.req-0042", "a client cannot choose the request ID");
    let entries = tokio::task::spawn_blocking(move || {
        use registry::Registry;
        registry.audit_log(&registry::AuditQuery::default()).unwrap()
    })
    .await
    .unwrap();
    let mint_entry = entries.iter().find(|entry| entry.action == "mint").unwrap();
    assert_eq!(
        mint_entry.request_id.as_deref(),
        Some(returned.as_str()),
        "the audit log has the server's ID"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_admin_revoke_is_conflict() {
    let folder = TempDir::new().unwrap();
    let (state, operators) = common::in_process_state(&folder, |_| {});
    let router = app(state);
    let revoke = routes().into_iter().find(|spec| spec.operation_id == "revoke_operator").unwrap();

    let mut request = request_for(&revoke, "DELETE", Some(operators.admin.expose_secret()), fresh_address());
    *request.uri_mut() = "/api/v1/operators/ada".parse().unwrap();
    let response = router.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(body_code(response).await, "last_admin");
}
