//! The handlers of the `/api/v1` routes. Each decodes its input, makes one registry call on
//! the blocking pool and encodes the result; the rules live in the registry.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use factory_core::{Assignment, Registration};
use registry::wire::{
    AuditResponse, DownloadIdResponse, FlashHistoryResponse, IDEMPOTENCY_KEY_HEADER, LegacyTokenResponse,
    MetadataRequest, MintResponse, OtaTokenResponse, ProvisionedRequest, ReleaseRequest,
};
use registry::{
    FlashOutcome, FlashRecord, MintRequest, NewFlashRecord, RegistrationPage, Registry, RegistryError,
    Reservation, ReserveRequest, ServerInfo, StatusCounts, wire,
};
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::error::ApiError;
use crate::extract::{Actor, DownloadIdPath, JsonBody, NodeIdPath, QueryParams, path_parameter};
use crate::firmware;
use crate::operators::{OperatorError, OperatorInfo};
use crate::state::AppState;

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Mints a batch. NOTE: metadata arrives as parsed JSON, so the registry stores its compact
/// form rather than the client's original spacing; keys keep their order.
pub async fn mint(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    body: Result<JsonBody<MintRequest>, ApiError>,
) -> Result<(StatusCode, Json<MintResponse>), ApiError> {
    let max_batch = state.settings.max_batch;
    let count_range = || format!("give a whole number from 1 to {max_batch}, this server's largest batch");
    let mut request = match body {
        Ok(JsonBody(request)) => request,
        Err(ApiError::Registry(RegistryError::InvalidInput { field, .. })) if field == "count" => {
            return Err(ApiError::invalid("count", count_range()));
        }
        Err(error) => return Err(error),
    };
    let header_key = match headers.get(IDEMPOTENCY_KEY_HEADER) {
        Some(value) => {
            let key = value
                .to_str()
                .map_err(|_| ApiError::invalid("idempotency_key", "the header is not ASCII"))?;
            wire::validate_idempotency_key(key)?;
            Some(key.to_owned())
        }
        None => None,
    };
    request.idempotency_key = match (header_key, request.idempotency_key.take()) {
        (Some(header), Some(body)) if header != body => {
            return Err(ApiError::invalid(
                "idempotency_key",
                "the Idempotency-Key header and the body's idempotency_key differ; send one of them",
            ));
        }
        (header, body) => header.or(body),
    };

    if request.count == 0 || request.count > max_batch {
        return Err(ApiError::invalid(
            "count",
            format!("{} is out of range; {}", request.count, count_range()),
        ));
    }

    let registrations = state.run(actor.context, move |registry| registry.mint_batch(&request)).await?;
    tracing::info!(count = registrations.len(), "minted registrations");
    Ok((StatusCode::CREATED, Json(MintResponse { registrations })))
}

pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(params): QueryParams,
) -> ApiResult<RegistrationPage> {
    let query = wire::list_query_from_params(&params)?;
    Ok(Json(state.run(actor.context, move |registry| registry.list(&query)).await?))
}

pub async fn get(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
) -> ApiResult<Registration> {
    Ok(Json(state.run(actor.context, move |registry| registry.get(&node_id)).await?))
}

pub async fn get_by_download_id(
    State(state): State<AppState>,
    actor: Actor,
    DownloadIdPath(download_id): DownloadIdPath,
) -> ApiResult<Registration> {
    Ok(Json(state.run(actor.context, move |registry| registry.get_by_download_id(&download_id)).await?))
}

pub async fn counts(State(state): State<AppState>, actor: Actor) -> ApiResult<StatusCounts> {
    Ok(Json(state.run(actor.context, |registry| registry.counts()).await?))
}

pub async fn rotate_token(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
) -> ApiResult<OtaTokenResponse> {
    let ota_token = state.run(actor.context, move |registry| registry.rotate_token(&node_id)).await?;
    Ok(Json(OtaTokenResponse { ota_token }))
}

/// Rotates the download ID and moves the firmware folder to the new ID inside the same
/// transaction: a failed move leaves the old ID, and a failed commit moves the folder back.
pub async fn rotate_download_id(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
) -> ApiResult<DownloadIdResponse> {
    let firmware_dir = state.settings.firmware_dir.clone();
    let download_id = state
        .run(actor.context, move |registry| {
            let mut moved = None;
            let rotated = registry.rotate_download_id_then(&node_id, |old, new| {
                if let Some(firmware_dir) = &firmware_dir {
                    moved = firmware::move_folder(firmware_dir, old, new)?;
                }
                Ok(())
            });
            if let (Err(_), Some(moved)) = (&rotated, moved) {
                moved.undo();
            }
            rotated
        })
        .await?;
    Ok(Json(DownloadIdResponse { download_id }))
}

pub async fn set_metadata(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
    JsonBody(body): JsonBody<MetadataRequest>,
) -> ApiResult<Registration> {
    Ok(Json(
        state
            .run(actor.context, move |registry| registry.set_metadata(&node_id, body.metadata.as_ref()))
            .await?,
    ))
}

pub async fn mark_provisioned(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
    JsonBody(body): JsonBody<ProvisionedRequest>,
) -> ApiResult<Registration> {
    let at = body.at.unwrap_or_else(Utc::now);
    let firmware_dir = state.settings.firmware_dir.clone();
    let registration = state
        .run(actor.context, move |registry| {
            // The folder comes first, so that a failure leaves the registration unchanged.
            if let Some(firmware_dir) = &firmware_dir {
                firmware::ensure_folder(firmware_dir, &registry.get(&node_id)?.download_id)?;
            }
            registry.mark_provisioned(&node_id, at)
        })
        .await?;
    Ok(Json(registration))
}

pub async fn consume_legacy_token(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
) -> ApiResult<LegacyTokenResponse> {
    let token = state.run(actor.context, move |registry| registry.consume_legacy_token(&node_id)).await?;
    Ok(Json(LegacyTokenResponse { ota_token: token.map(|token| token.expose_secret().to_owned()) }))
}

pub async fn record_flash(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
    JsonBody(record): JsonBody<NewFlashRecord>,
) -> Result<(StatusCode, Json<FlashRecord>), ApiError> {
    if record.node_id != node_id {
        return Err(ApiError::invalid(
            "node_id",
            format!("the body names {} but the path names {node_id}; they must be the same", record.node_id),
        ));
    }
    let firmware_dir = state.settings.firmware_dir.clone();
    let recorded = state
        .run(actor.context, move |registry| {
            let recorded = registry.record_flash(&record)?;
            // The record matters more than the folder: a board was flashed, so a missing
            // folder is logged (by ensure_folder) rather than failing the request.
            if let (Some(firmware_dir), FlashOutcome::Success) = (&firmware_dir, record.outcome)
                && let Ok(registration) = registry.get(&record.node_id)
            {
                let _ = firmware::ensure_folder(firmware_dir, &registration.download_id);
            }
            Ok(recorded)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

pub async fn flash_history(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
) -> ApiResult<FlashHistoryResponse> {
    let records = state.run(actor.context, move |registry| registry.flash_history(&node_id)).await?;
    Ok(Json(FlashHistoryResponse { records }))
}

pub async fn assign(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
    JsonBody(assignment): JsonBody<Assignment>,
) -> ApiResult<Registration> {
    Ok(Json(state.run(actor.context, move |registry| registry.assign(&node_id, &assignment)).await?))
}

pub async fn unassign(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
) -> ApiResult<Registration> {
    Ok(Json(state.run(actor.context, move |registry| registry.unassign(&node_id)).await?))
}

pub async fn reserve(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(request): JsonBody<ReserveRequest>,
) -> ApiResult<Reservation> {
    Ok(Json(state.run(actor.context, move |registry| registry.reserve_next(&request)).await?))
}

#[derive(Serialize)]
pub struct Released {
    released: bool,
}

pub async fn release(
    State(state): State<AppState>,
    actor: Actor,
    NodeIdPath(node_id): NodeIdPath,
    JsonBody(body): JsonBody<ReleaseRequest>,
) -> ApiResult<Released> {
    state.run(actor.context, move |registry| registry.release_lease(&node_id, &body.lease_id)).await?;
    Ok(Json(Released { released: true }))
}

pub async fn audit(
    State(state): State<AppState>,
    actor: Actor,
    QueryParams(params): QueryParams,
) -> ApiResult<AuditResponse> {
    let query = wire::audit_query_from_params(&params)?;
    let entries = state.run(actor.context, move |registry| registry.audit_log(&query)).await?;
    Ok(Json(AuditResponse { entries }))
}

#[derive(Serialize)]
pub struct OperatorList {
    operators: Vec<OperatorInfo>,
}

pub async fn list_operators(State(state): State<AppState>, _actor: Actor) -> ApiResult<OperatorList> {
    let operators = state.operators.clone();
    let operators = tokio::task::spawn_blocking(move || operators.list())
        .await
        .map_err(|error| ApiError::Internal { detail: error.to_string() })?
        .map_err(operator_error)?;
    Ok(Json(OperatorList { operators }))
}

#[derive(Deserialize)]
pub struct NewOperator {
    name: String,
    role: Role,
}

/// The new operator's token: the only copy of its plaintext.
#[derive(Serialize)]
pub struct NewOperatorResponse {
    name: String,
    role: Role,
    token: String,
}

pub async fn add_operator(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody<NewOperator>,
) -> Result<(StatusCode, Json<NewOperatorResponse>), ApiError> {
    let operators = state.operators.clone();
    let (name, role) = (body.name.clone(), body.role);
    let token = tokio::task::spawn_blocking(move || operators.add(&actor.context, &name, role))
        .await
        .map_err(|error| ApiError::Internal { detail: error.to_string() })?
        .map_err(operator_error)?;
    let response =
        NewOperatorResponse { name: body.name, role: body.role, token: token.expose_secret().to_owned() };
    Ok((StatusCode::CREATED, Json(response)))
}

#[derive(Serialize)]
pub struct Revoked {
    revoked: bool,
}

pub async fn revoke_operator(
    State(state): State<AppState>,
    actor: Actor,
    request: axum::extract::Request,
) -> ApiResult<Revoked> {
    let (mut parts, _) = request.into_parts();
    let name = path_parameter(&mut parts, &state, "name").await?;
    let operators = state.operators.clone();
    tokio::task::spawn_blocking(move || operators.revoke(&actor.context, &name))
        .await
        .map_err(|error| ApiError::Internal { detail: error.to_string() })?
        .map_err(operator_error)?;
    Ok(Json(Revoked { revoked: true }))
}

fn operator_error(error: OperatorError) -> ApiError {
    ApiError::Operator(error)
}

/// Returns the facts a client needs about this server and its own operator.
pub async fn info(State(state): State<AppState>, actor: Actor) -> ApiResult<ServerInfo> {
    let settings = &state.settings;
    Ok(Json(ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        public_url: settings.public_url.clone(),
        operator: actor.operator.name,
        role: actor.operator.role,
        max_batch: settings.max_batch,
        default_lease_seconds: settings.default_lease_seconds,
        body_limit_bytes: settings.body_limit_bytes as u64,
    }))
}

pub async fn legacy_node_creation() -> ApiError {
    ApiError::LegacyNodeCreation
}
