//! The one error type of the HTTP API and its mapping to statuses and `{code, message}`
//! bodies.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry::RegistryError;
use registry::wire::ErrorBody;

use crate::auth::{Permission, Role};
use crate::operators::OperatorError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Registry(#[from] RegistryError),

    #[error(transparent)]
    Operator(#[from] OperatorError),

    #[error("the request body is not valid JSON: {detail}")]
    MalformedJson { detail: String },

    #[error("the request body must be JSON; send it with Content-Type: application/json")]
    UnsupportedMediaType,

    #[error("the request body is larger than this server's limit of {limit} bytes; send a smaller batch")]
    BodyTooLarge { limit: usize },

    #[error(
        "this request needs an operator token in an `Authorization: Bearer ulop_...` header; ask an admin for one"
    )]
    NotAuthenticated,

    #[error("the operator token is unknown or revoked; ask an admin for a new one")]
    UnknownToken,

    #[error("{}", permission.refusal(operator, *role))]
    Forbidden { operator: String, role: Role, permission: Permission },

    #[error(
        "too many failed sign-ins from this address; wait {retry_after_seconds} seconds before trying again"
    )]
    TooManyAttempts { retry_after_seconds: u64 },

    #[error("the request URI is longer than {limit} bytes; send long values in a JSON body")]
    UriTooLong { limit: usize },

    #[error("no API route has this path; the OpenAPI document at /api/v1/openapi.json lists the routes")]
    RouteNotFound,

    #[error(
        "this path does not accept this method; the OpenAPI document at /api/v1/openapi.json lists the methods"
    )]
    MethodNotAllowed,

    /// The one response to every refused OTA download, so that it reveals nothing about why.
    #[error("not found")]
    OtaRefused,

    #[error("no firmware is published for this node yet; ask the operator to publish {file}")]
    FirmwareNotPublished { file: &'static str },

    #[error(
        "nodes are no longer created here; mint registrations with `node-factory generate`, write them into firmware with `node-factory provision` or the desktop app's Bench screen, then assign a registration to the house and room with PUT /api/v1/registrations/{{node_id}}/assignment"
    )]
    LegacyNodeCreation,

    /// A failure inside the server. The detail goes to the log only.
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

impl ApiError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
        ApiError::Registry(RegistryError::invalid(field, reason))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Registry(error) => registry_status(error),
            ApiError::Operator(OperatorError::InvalidName { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Operator(OperatorError::NameTaken { .. }) => StatusCode::CONFLICT,
            ApiError::Operator(OperatorError::NotFound { .. }) => StatusCode::NOT_FOUND,
            ApiError::Operator(OperatorError::LastAdmin { .. }) => StatusCode::CONFLICT,
            ApiError::Operator(OperatorError::Database(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::MalformedJson { .. } => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotAuthenticated | ApiError::UnknownToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RouteNotFound | ApiError::OtaRefused | ApiError::FirmwareNotPublished { .. } => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::LegacyNodeCreation => StatusCode::NOT_IMPLEMENTED,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Registry(error) if error.is_unique_violation() => "conflict",
            ApiError::Registry(error) => error.code(),
            ApiError::Operator(OperatorError::InvalidName { .. }) => "invalid_input",
            ApiError::Operator(OperatorError::NameTaken { .. }) => "conflict",
            ApiError::Operator(OperatorError::NotFound { .. }) => "operator_not_found",
            ApiError::Operator(OperatorError::LastAdmin { .. }) => "last_admin",
            ApiError::Operator(OperatorError::Database(_)) => "database_failed",
            ApiError::MalformedJson { .. } => "malformed_json",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::NotAuthenticated => "not_authenticated",
            ApiError::UnknownToken => "unknown_token",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::RouteNotFound => "route_not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::OtaRefused => "not_found",
            ApiError::FirmwareNotPublished { .. } => "firmware_not_published",
            ApiError::LegacyNodeCreation => "not_implemented",
            ApiError::Internal { .. } => "internal_error",
        }
    }

    fn body(&self) -> ErrorBody {
        let mut body =
            ErrorBody { code: self.code().to_owned(), message: self.to_string(), field: None, reason: None };
        match self {
            ApiError::Registry(RegistryError::InvalidInput { field, reason }) => {
                body.field = Some(field.clone());
                body.reason = Some(reason.clone());
            }
            ApiError::Registry(RegistryError::Conflict { what, detail }) => {
                body.field = Some(what.clone());
                body.reason = Some(detail.clone());
            }
            ApiError::Registry(RegistryError::IdempotencyKeyRefused { reason, .. }) => {
                body.field = Some("idempotency_key".to_owned());
                body.reason = Some(reason.clone());
            }
            ApiError::Operator(OperatorError::InvalidName { .. }) => {
                body.field = Some("name".to_owned());
                body.reason = Some(self.to_string());
            }
            ApiError::Registry(error) if error.is_unique_violation() => {
                body.message = "the value already exists; use a different one".to_owned();
            }
            _ => {}
        }
        // A failed firmware move is for the operator to fix, so its message names the folders.
        let names_folders = matches!(self, ApiError::Registry(RegistryError::FirmwareMoveFailed { .. }));
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR && !names_folders {
            // The detail may name files and SQL; it goes to the log, never to the client.
            body.message =
                "the registry server failed; its log has the detail under this response's x-request-id"
                    .to_owned();
        }
        body
    }
}

fn registry_status(error: &RegistryError) -> StatusCode {
    if error.is_unique_violation() {
        return StatusCode::CONFLICT;
    }
    match error {
        RegistryError::NotFound { .. } | RegistryError::DownloadIdNotFound { .. } => StatusCode::NOT_FOUND,
        RegistryError::InvalidInput { .. } | RegistryError::Domain(_) => StatusCode::UNPROCESSABLE_ENTITY,
        RegistryError::Conflict { .. }
        | RegistryError::IdempotencyKeyRefused { .. }
        | RegistryError::NoneAvailable { .. }
        | RegistryError::LeaseNotHeld { .. } => StatusCode::CONFLICT,
        RegistryError::Database { .. }
        | RegistryError::SchemaTooNew { .. }
        | RegistryError::Corrupt { .. }
        | RegistryError::FirmwareMoveFailed { .. }
        | RegistryError::FileMissing { .. }
        | RegistryError::FileAccess { .. }
        | RegistryError::ServerUnreachable { .. }
        | RegistryError::NotAuthorised { .. }
        | RegistryError::Forbidden { .. }
        | RegistryError::TooManyAttempts { .. }
        | RegistryError::ServerTimedOut { .. }
        | RegistryError::Rejected { .. }
        | RegistryError::ServerFailed { .. }
        | RegistryError::BadResponse { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, code = self.code(), "request failed");
        } else if status != StatusCode::NOT_FOUND {
            tracing::info!(error = %self, code = self.code(), status = status.as_u16(), "request rejected");
        }

        let mut response = (status, Json(self.body())).into_response();
        match &self {
            ApiError::NotAuthenticated | ApiError::UnknownToken => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyAttempts { retry_after_seconds } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            _ => {}
        }
        response
    }
}
