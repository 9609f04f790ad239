//! The route table: every path, method, access rule and documentation line in one place.
//! The router and the OpenAPI document are both built from it.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware;
use axum::routing::{MethodRouter, any, delete, get, post, put};

use crate::auth::{Permission, require};
use crate::error::ApiError;
use crate::state::AppState;
use crate::{context, handlers, openapi, ota};

/// The callers a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// An operator whose role grants the permission.
    Operator(Permission),
    /// A node with the OTA token of the registration in the path.
    OtaToken,
    /// Anyone.
    Public,
}

/// The methods a route accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMethod {
    One(Method),
    /// Every method, for the retired endpoint that returns 501 to all of them.
    Any,
}

/// One route.
pub struct RouteSpec {
    pub method: RouteMethod,
    /// The path in axum's syntax, which is also OpenAPI's: `/api/v1/registrations/{node_id}`.
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// The component schema of the JSON request body, if the route takes one.
    pub request_body: Option<&'static str>,
    /// The success status and the component schema of its body.
    pub response: (u16, &'static str),
    /// Query parameters: name, JSON type and description.
    pub query: &'static [(&'static str, &'static str, &'static str)],
    handler: fn() -> MethodRouter<AppState>,
}

const LIST_QUERY: &[(&str, &str, &str)] = &[
    ("status", "string", "available, assigned or provisioned"),
    ("target_chip", "string", "esp32, esp32c3 or esp32s3"),
    ("search", "string", "part of a node ID, download ID, house slug or MAC address"),
    ("sort", "string", "created_at (default), node_id, status, target_chip or provisioned_at"),
    ("direction", "string", "ascending (default) or descending"),
    ("offset", "integer", "registrations to skip"),
    ("limit", "integer", "page size, 1 to 100000 (default 1000)"),
];

const AUDIT_QUERY: &[(&str, &str, &str)] = &[
    ("node_id", "string", "only entries about this node"),
    ("before_id", "integer", "only entries older than this entry ID, for the next page"),
    ("limit", "integer", "page size, 1 to 10000 (default 100)"),
];

#[allow(clippy::too_many_arguments)]
fn route(
    method: Method,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    access: Access,
    request_body: Option<&'static str>,
    response: (u16, &'static str),
    handler: fn() -> MethodRouter<AppState>,
) -> RouteSpec {
    RouteSpec {
        method: RouteMethod::One(method),
        path,
        operation_id,
        summary,
        access,
        request_body,
        response,
        query: &[],
        handler,
    }
}

/// Returns every route of the server.
pub fn routes() -> Vec<RouteSpec> {
    use Access::{Operator, OtaToken, Public};
    use Permission::*;

    vec![
        route(
            Method::POST,
            "/api/v1/registrations/batches",
            "mint_batch",
            "Mint a batch of registrations; send an Idempotency-Key header to make retries safe",
            Operator(Mint),
            Some("MintRequest"),
            (201, "MintResponse"),
            || post(handlers::mint),
        ),
        RouteSpec {
            query: LIST_QUERY,
            ..route(
                Method::GET,
                "/api/v1/registrations",
                "list_registrations",
                "List and search registrations, one page at a time",
                Operator(Read),
                None,
                (200, "RegistrationPage"),
                || get(handlers::list),
            )
        },
        route(
            Method::GET,
            "/api/v1/registrations/counts",
            "count_registrations",
            "Count registrations by status, and available ones by chip",
            Operator(Read),
            None,
            (200, "StatusCounts"),
            || get(handlers::counts),
        ),
        route(
            Method::GET,
            "/api/v1/registrations/{node_id}",
            "get_registration",
            "Get one registration",
            Operator(Read),
            None,
            (200, "Registration"),
            || get(handlers::get),
        ),
        route(
            Method::GET,
            "/api/v1/downloads/{download_id}",
            "get_registration_by_download_id",
            "Get the registration whose current download ID this is",
            Operator(Read),
            None,
            (200, "Registration"),
            || get(handlers::get_by_download_id),
        ),
        route(
            Method::POST,
            "/api/v1/registrations/{node_id}/rotate-token",
            "rotate_token",
            "Replace the OTA token; the response holds the only copy of the new one",
            Operator(Rotate),
            None,
            (200, "OtaTokenResponse"),
            || post(handlers::rotate_token),
        ),
        route(
            Method::POST,
            "/api/v1/registrations/{node_id}/rotate-download-id",
            "rotate_download_id",
            "Issue a new download ID; the old firmware URL stops working",
            Operator(Rotate),
            None,
            (200, "DownloadIdResponse"),
            || post(handlers::rotate_download_id),
        ),
        route(
            Method::PUT,
            "/api/v1/registrations/{node_id}/metadata",
            "set_metadata",
            "Replace or clear the hardware metadata",
            Operator(EditMetadata),
            Some("MetadataRequest"),
            (200, "Registration"),
            || put(handlers::set_metadata),
        ),
        route(
            Method::POST,
            "/api/v1/registrations/{node_id}/provisioned",
            "mark_provisioned",
            "Mark the registration provisioned, ending its lease",
            Operator(Provision),
            Some("ProvisionedRequest"),
            (200, "Registration"),
            || post(handlers::mark_provisioned),
        ),
        route(
            Method::POST,
            "/api/v1/registrations/{node_id}/consume-legacy-token",
            "consume_legacy_token",
            "Take and erase the plaintext token of a record imported from an older system",
            Operator(Provision),
            None,
            (200, "LegacyTokenResponse"),
            || post(handlers::consume_legacy_token),
        ),
        route(
            Method::POST,
            "/api/v1/registrations/{node_id}/flashes",
            "record_flash",
            "Record a flash attempt; a successful one marks the registration provisioned",
            Operator(RecordFlash),
            Some("NewFlashRecord"),
            (201, "FlashRecord"),
            || post(handlers::record_flash),
        ),
        route(
            Method::GET,
            "/api/v1/registrations/{node_id}/flashes",
            "flash_history",
            "List the flash attempts of a registration, newest first",
            Operator(Read),
            None,
            (200, "FlashHistory"),
            || get(handlers::flash_history),
        ),
        route(
            Method::PUT,
            "/api/v1/registrations/{node_id}/assignment",
            "assign",
            "Assign the registration to a house, room or user",
            Operator(Assign),
            Some("Assignment"),
            (200, "Registration"),
            || put(handlers::assign),
        ),
        route(
            Method::DELETE,
            "/api/v1/registrations/{node_id}/assignment",
            "unassign",
            "Clear the assignment",
            Operator(Assign),
            None,
            (200, "Registration"),
            || delete(handlers::unassign),
        ),
        route(
            Method::POST,
            "/api/v1/reservations",
            "reserve_next",
            "Reserve the next available registration for a chip under a lease",
            Operator(Reserve),
            Some("ReserveRequest"),
            (200, "Reservation"),
            || post(handlers::reserve),
        ),
        route(
            Method::POST,
            "/api/v1/reservations/{node_id}/release",
            "release_lease",
            "Release a lease before it expires",
            Operator(Reserve),
            Some("ReleaseRequest"),
            (200, "Released"),
            || post(handlers::release),
        ),
        RouteSpec {
            query: AUDIT_QUERY,
            ..route(
                Method::GET,
                "/api/v1/audit",
                "audit_log",
                "Read the audit log, newest first",
                Operator(Read),
                None,
                (200, "AuditPage"),
                || get(handlers::audit),
            )
        },
        route(
            Method::GET,
            "/api/v1/operators",
            "list_operators",
            "List the active operators",
            Operator(ManageOperators),
            None,
            (200, "OperatorList"),
            || get(handlers::list_operators),
        ),
        route(
            Method::POST,
            "/api/v1/operators",
            "add_operator",
            "Add an operator; the response holds the only copy of its token",
            Operator(ManageOperators),
            Some("NewOperator"),
            (201, "NewOperatorResponse"),
            || post(handlers::add_operator),
        ),
        route(
            Method::DELETE,
            "/api/v1/operators/{name}",
            "revoke_operator",
            "Revoke an operator's token",
            Operator(ManageOperators),
            None,
            (200, "Revoked"),
            || delete(handlers::revoke_operator),
        ),
        route(
            Method::GET,
            "/api/v1/info",
            "server_info",
            "Read the server's version and limits",
            Operator(Read),
            None,
            (200, "ServerInfo"),
            || get(handlers::info),
        ),
        route(
            Method::GET,
            "/api/v1/openapi.json",
            "openapi",
            "Read this OpenAPI document",
            Operator(Read),
            None,
            (200, "OpenApi"),
            || get(openapi::serve),
        ),
        route(
            Method::GET,
            "/firmware/{download_id}/manifest.json",
            "ota_manifest",
            "Download a node's OTA manifest with its OTA token",
            OtaToken,
            None,
            (200, "Manifest"),
            || get(ota::manifest),
        ),
        route(
            Method::GET,
            "/firmware/{download_id}/latest.bin",
            "ota_image",
            "Download a node's firmware image with its OTA token",
            OtaToken,
            None,
            (200, "FirmwareImage"),
            || get(ota::image),
        ),
        RouteSpec {
            method: RouteMethod::Any,
            ..route(
                Method::GET,
                "/api/house/{house_id}/room/{room_id}/nodes",
                "legacy_node_creation",
                "Retired: nodes are minted and provisioned with Node Factory, not created here",
                Public,
                None,
                (501, "Error"),
                || any(handlers::legacy_node_creation),
            )
        },
    ]
}

/// The maximum length of a request URI that is routed. hyper itself returns 414 without a
/// body only from about 64 KiB on, so this limit gives the range below that a JSON body.
const MAX_URI_LENGTH: usize = 8 * 1024;

async fn reject_long_uri(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let length = request.uri().path_and_query().map_or(0, |uri| uri.as_str().len());
    if length > MAX_URI_LENGTH {
        return ApiError::UriTooLong { limit: MAX_URI_LENGTH }.into_response();
    }
    next.run(request).await
}

/// Builds the whole HTTP application. Tests call it in-process; [`crate::serve`] serves it.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for spec in routes() {
        let mut method_router = (spec.handler)();
        if let Access::Operator(permission) = spec.access {
            method_router = method_router
                .route_layer(middleware::from_fn_with_state((state.clone(), permission), require));
        }
        router = router.route(spec.path, method_router);
    }

    router
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
        .layer(middleware::from_fn(reject_long_uri))
        .layer(middleware::from_fn(context::track))
        .with_state(state)
}
