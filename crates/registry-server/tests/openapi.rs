//! The OpenAPI document matches the router: every route is documented, and every documented
//! operation reaches a handler rather than the not-found or method-not-allowed fallback.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use factory_core::DownloadId;
use registry_server::{RouteMethod, app, routes};
use tempfile::TempDir;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_matches_routes() {
    let folder = TempDir::new().unwrap();
    let (state, operators) = common::in_process_state(&folder, |_| {});
    let router = app(state);
    let admin = format!("Bearer {}", operators.admin.expose_secret());
    let address = ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000)));

    let mut request = Request::get("/api/v1/openapi.json")
        .header(header::AUTHORIZATION, &admin)
        .body(Body::empty())
        .unwrap();
    request.extensions_mut().insert(address);
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
    let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(document["openapi"], "3.1.0");

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((path.clone(), method.to_uppercase()));
        }
    }

    let mut routed = BTreeSet::new();
    for spec in routes() {
        match spec.method {
            RouteMethod::One(method) => {
                routed.insert((spec.path.to_owned(), method.as_str().to_owned()));
            }
            RouteMethod::Any => {
                for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                    routed.insert((spec.path.to_owned(), method.to_owned()));
                }
            }
        }
    }
    assert_eq!(documented, routed, "the document and the route table list different operations");

    for (path, method) in &documented {
        let operation = &document["paths"][path][method.to_lowercase()];
        assert!(operation["operationId"].is_string(), "{method} {path} has no operationId");
        assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");

        let uri = path
            .replace("{node_id}", "zzzzzzzzzzzzzzzz")
            .replace("{download_id}", DownloadId::generate().as_str())
            .replace("{name}", "nobody")
            .replace("{house_id}", "1")
            .replace("{room_id}", "2");
        let mut request = Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .header(header::AUTHORIZATION, &admin)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        request.extensions_mut().insert(address);
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
        let code = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default()["code"].clone();
        assert_ne!(code, "route_not_found", "{method} {uri} is documented but not routed");
        assert_ne!(code, "method_not_allowed", "{method} {uri} is documented but not routed");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undocumented_paths_are_not_routed() {
    let folder = TempDir::new().unwrap();
    let (state, operators) = common::in_process_state(&folder, |_| {});
    let router = app(state);
    let admin = format!("Bearer {}", operators.admin.expose_secret());

    for (method, uri, code) in [
        ("GET", "/api/v1/nodes", "route_not_found"),
        ("GET", "/api/v2/registrations", "route_not_found"),
        ("PATCH", "/api/v1/registrations", "method_not_allowed"),
        ("DELETE", "/api/v1/registrations/batches", "method_not_allowed"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, &admin)
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["code"], code, "{method} {uri}");
    }
}
