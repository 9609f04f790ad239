//! The request ID and the tracing span of every request.

use std::time::Instant;

use axum::extract::{FromRequestParts, Request};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use registry::wire::REQUEST_ID_HEADER;
use tracing::Instrument;

use crate::error::ApiError;

/// The maximum length of a client request ID that is logged.
const MAX_REQUEST_ID_LENGTH: usize = 64;

/// The maximum length of a request path that is logged in full.
const MAX_LOGGED_PATH: usize = 64;

/// A request's ID, always made by this server, so that the audit log's request IDs are unique
/// and no client can plant one that points at another request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Gives each request a new ID and a span that carries it, logs the outcome, and returns the
/// ID in the response's `x-request-id` header. A short, plain `x-request-id` that the client
/// sent is logged as `client_request_id`, so a bench can match its own log to the server's.
pub async fn track(mut request: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let client_request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|text| is_plain_request_id(text))
        .map(str::to_owned);
    request.extensions_mut().insert(RequestId(request_id.clone()));

    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        client_request_id = client_request_id.as_deref(),
        method = %request.method(),
        path = %truncate_path(request.uri().path()),
        operator = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;

    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status, elapsed_ms, "request finished"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

fn truncate_path(path: &str) -> std::borrow::Cow<'_, str> {
    if path.len() <= MAX_LOGGED_PATH {
        return path.into();
    }
    factory_core::truncate_for_message(path).into()
}

fn is_plain_request_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_REQUEST_ID_LENGTH
        && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .ok_or_else(|| ApiError::Internal { detail: "the request ID layer is missing".to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_accepts_only_plain_text() {
        assert!(is_plain_request_id("bench-3.req_0042"));
        for bad in ["", "has space", "new\nline", "quote\"", &"x".repeat(65)] {
            assert!(!is_plain_request_id(bad), "{bad:?}");
        }
    }
}
