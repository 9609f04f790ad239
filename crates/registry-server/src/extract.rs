//! Request extractors whose failures name the invalid field and keep the API's error shape.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use factory_core::{DownloadId, NodeId, truncate_for_message};
use serde::de::DeserializeOwned;

use crate::auth::Operator;
use crate::context::RequestId;
use crate::error::ApiError;
use crate::state::{AppState, audit_context};

/// A JSON body. Invalid JSON is a 400 `malformed_json`; JSON of the wrong shape is a 422
/// `invalid_input` naming the field by its path, such as `metadata.same.strips[0].gpio`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }

        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge { limit: state.settings.body_limit_bytes }
            } else {
                ApiError::MalformedJson { detail: rejection.body_text() }
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses JSON, telling bad syntax from a bad shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every request body is an object. serde would also read a struct from a JSON list of its
    // fields in order, which no client means to send.
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    if first.is_some_and(|byte| *byte == b'[') {
        return Err(ApiError::invalid("body", "the body is a JSON list; send a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::MalformedJson { detail: inner.to_string() }
        } else {
            let (field, reason) = plain_shape_error(&path, &strip_position(&inner.to_string()));
            ApiError::invalid(&field, reason)
        }
    })?;
    deserializer.end().map_err(|error| ApiError::MalformedJson { detail: error.to_string() })?;
    Ok(value)
}

/// Removes serde_json's ` at line L column C` suffix.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// Rewrites serde's description of a JSON value of the wrong shape as a plain sentence, and
/// returns it with the field it names. `path` is the path of the value that failed, `.` for
/// the whole body. Messages that did not come from serde itself (the domain types' own
/// checks) are kept.
pub fn plain_shape_error(path: &str, message: &str) -> (String, String) {
    let join = |name: &str| if path == "." { name.to_owned() } else { format!("{path}.{name}") };
    let field = if path == "." { "body".to_owned() } else { path.to_owned() };
    let quoted = |text: &str| text.split('`').nth(1).unwrap_or_default().to_owned();

    if let Some(rest) = message.strip_prefix("missing field ") {
        return (join(&quoted(rest)), "is missing; the request needs it".to_owned());
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        return (join(&quoted(rest)), "is given twice; give it once".to_owned());
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = truncate_for_message(&quoted(rest));
        let known = rest.split_once("expected ").map(|(_, list)| list.replace('`', "")).unwrap_or_default();
        let known = known.trim_start_matches("one of ");
        // serde_path_to_error already puts an unknown field at the end of the path.
        let already_named = path == name || path.ends_with(&format!(".{name}"));
        let field = if already_named { path.to_owned() } else { join(&name) };
        return (field, format!("is not a field of this request; the fields are {known}"));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let value = truncate_for_message(&quoted(rest));
        let known = rest.split_once("expected ").map(|(_, list)| list.replace('`', "")).unwrap_or_default();
        return (field, format!("{value:?} is not {}", known));
    }
    for (prefix, verb) in [("invalid type: ", "has the wrong type"), ("invalid value: ", "is out of range")] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let found = truncate_for_message(
                found.replace('`', "").trim_start_matches("integer ").trim_start_matches("floating point "),
            );
            return (field, format!("{verb}: expected {}, not {found}", plain_expectation(expected)));
        }
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((_, expected)) = rest.split_once(", expected ")
    {
        return (field, format!("has the wrong shape: expected {}", plain_expectation(expected)));
    }
    (field, message.to_owned())
}

/// Describes what serde expected in words: `u32` is "a whole number from 0 to 4294967295",
/// `struct MintRequest` is "a JSON object".
fn plain_expectation(expected: &str) -> String {
    let range = |max: u64| format!("a whole number from 0 to {max}");
    match expected {
        "u8" => range(u8::MAX.into()),
        "u16" => range(u16::MAX.into()),
        "u32" => range(u32::MAX.into()),
        "u64" | "usize" => range(u64::MAX),
        "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a JSON object".to_owned(),
        other if other.starts_with("struct ") || other.starts_with("a map") => "a JSON object".to_owned(),
        other if other.starts_with("enum ") => "one of the documented values".to_owned(),
        other => other.to_owned(),
    }
}

/// The query string as name-value pairs in order, repeats included; each handler checks the
/// names it accepts.
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(params)| QueryParams(params))
            .map_err(|rejection| ApiError::invalid("query", rejection.body_text()))
    }
}

/// The `{node_id}` path segment, checked by the node ID parser so that nothing else (such
/// as `../`) reaches the registry.
pub struct NodeIdPath(pub NodeId);

impl<S: Send + Sync> FromRequestParts<S> for NodeIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let text = path_parameter(parts, state, "node_id").await?;
        text.parse::<NodeId>()
            .map(NodeIdPath)
            .map_err(|error| ApiError::invalid("node_id", error.to_string()))
    }
}

/// The `{download_id}` path segment, checked by the download ID parser.
pub struct DownloadIdPath(pub DownloadId);

impl<S: Send + Sync> FromRequestParts<S> for DownloadIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let text = path_parameter(parts, state, "download_id").await?;
        text.parse::<DownloadId>()
            .map(DownloadIdPath)
            .map_err(|error| ApiError::invalid("download_id", error.to_string()))
    }
}

/// Reads one named path parameter as text.
pub async fn path_parameter<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    name: &str,
) -> Result<String, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|rejection| ApiError::invalid(name, rejection.body_text()))?;
    params
        .get(name)
        .cloned()
        .ok_or_else(|| ApiError::Internal { detail: format!("the route has no {{{name}}}") })
}

/// The authenticated operator, and the operator and request ID as the audit log records them.
pub struct Actor {
    pub context: registry::AuditContext,
    pub operator: Operator,
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let request_id = RequestId::from_request_parts(parts, state).await?;
        let operator = parts.extensions.get::<Operator>().cloned().ok_or_else(|| ApiError::Internal {
            detail: "the route has no authentication layer".to_owned(),
        })?;
        let context = audit_context(&operator, &request_id);
        Ok(Actor { context, operator })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_are_plain_sentences() {
        let cases = [
            (".", "missing field `count`", "count", "is missing"),
            (
                ".",
                "unknown field `colour`, expected one of `count`, `metadata`",
                "colour",
                "the fields are count, metadata",
            ),
            (
                "count",
                "invalid type: string \"ten\", expected u32",
                "count",
                "expected a whole number from 0 to 4294967295",
            ),
            ("count", "invalid value: integer `-1`, expected u32", "count", "not -1"),
            (
                ".",
                "invalid length 4, expected struct MintRequest with 4 elements",
                "body",
                "expected a JSON object",
            ),
            (
                "target_chip",
                "unknown variant `esp8266`, expected one of `esp32`, `esp32c3`",
                "target_chip",
                "is not one of esp32, esp32c3",
            ),
        ];
        for (path, message, field, reason) in cases {
            let (found_field, found_reason) = plain_shape_error(path, message);
            assert_eq!(found_field, field, "{message}");
            assert!(found_reason.contains(reason), "{message}: {found_reason}");
            for leak in ["u32", "struct ", "`"] {
                assert!(!found_reason.contains(leak), "{message}: {found_reason}");
            }
        }
    }

    #[test]
    fn position_is_stripped() {
        assert_eq!(strip_position("missing field `x` at line 1 column 2"), "missing field `x`");
    }
}
