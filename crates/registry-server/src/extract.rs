//! Request extractors whose failures name the invalid field and keep the API's error shape.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use factory_core::{DownloadId, NodeId};
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
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::MalformedJson { detail: inner.to_string() }
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::invalid(&field, inner.to_string())
        }
    })?;
    deserializer.end().map_err(|error| ApiError::MalformedJson { detail: error.to_string() })?;
    Ok(value)
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
