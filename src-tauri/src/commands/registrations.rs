//! Commands of the Registrations screen: listing, counts, detail and credential rotation.

use std::path::PathBuf;
use std::sync::Arc;

use bench::provision::{ProvisionRequest, TokenSource};
use factory_core::{NodeId, OtaToken};
use registry::{AuditQuery, ListQuery, Registry, SortDirection, SortKey};
use tauri::State;

use super::{blocking, parse_node_id};
use crate::connection;
use crate::dto::{
    AuditPage, AuditRow, Counts, FlashAttempt, PatchInput, PatchOutcome, RegistrationDetail,
    RegistrationPage, RegistrationQuery, RegistrationRow, RotatedDownloadId, RotatedToken, SortColumn,
    TokenChoice, saturate,
};
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

#[tauri::command]
pub async fn registry_counts(state: State<'_, AppState>) -> CommandResult<Counts> {
    let active = Arc::clone(&state.registry);
    blocking(move || Ok(active.registry()?.counts()?.into())).await
}

#[tauri::command]
pub async fn list_registrations(
    state: State<'_, AppState>,
    query: RegistrationQuery,
) -> CommandResult<RegistrationPage> {
    let active = Arc::clone(&state.registry);
    let query = ListQuery {
        status: query.status.map(Into::into),
        target_chip: query.target_chip.map(Into::into),
        search: query.search.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty()),
        sort: match query.sort {
            SortColumn::CreatedAt => SortKey::CreatedAt,
            SortColumn::NodeId => SortKey::NodeId,
            SortColumn::Status => SortKey::Status,
            SortColumn::TargetChip => SortKey::TargetChip,
            SortColumn::ProvisionedAt => SortKey::ProvisionedAt,
        },
        direction: if query.descending { SortDirection::Descending } else { SortDirection::Ascending },
        offset: u64::from(query.offset),
        limit: query.limit,
    };

    blocking(move || {
        let page = active.registry()?.list(&query)?;
        Ok(RegistrationPage {
            items: page.items.iter().map(RegistrationRow::from).collect(),
            total: saturate(page.total),
        })
    })
    .await
}

#[tauri::command]
pub async fn get_registration(
    state: State<'_, AppState>,
    node_id: String,
) -> CommandResult<RegistrationDetail> {
    let active = Arc::clone(&state.registry);
    let settings_public_url = state.settings().public_url;
    let node_id = parse_node_id(&node_id)?;

    blocking(move || {
        let registry = active.registry()?;
        let registration = registry.get(&node_id)?;
        let history = registry.flash_history(&node_id)?;
        let public_url = connection::public_url(registry.as_ref(), &settings_public_url)?;
        Ok(RegistrationDetail {
            ota_manifest_url: factory_core::manifest_url(&public_url, &registration.download_id),
            registration: RegistrationRow::from(&registration),
            flash_history: history.iter().map(FlashAttempt::from).collect(),
        })
    })
    .await
}

#[tauri::command]
pub async fn rotate_token(state: State<'_, AppState>, node_id: String) -> CommandResult<RotatedToken> {
    let active = Arc::clone(&state.registry);
    let node_id = parse_node_id(&node_id)?;
    blocking(move || {
        let token = active.registry()?.rotate_token(&node_id)?;
        tracing::info!(%node_id, "rotated OTA token");
        Ok(RotatedToken { ota_token: token.expose_secret().to_owned() })
    })
    .await
}

#[tauri::command]
pub async fn rotate_download_id(
    state: State<'_, AppState>,
    node_id: String,
) -> CommandResult<RotatedDownloadId> {
    let active = Arc::clone(&state.registry);
    let settings_public_url = state.settings().public_url;
    let node_id = parse_node_id(&node_id)?;
    blocking(move || {
        let registry = active.registry()?;
        let download_id = registry.rotate_download_id(&node_id)?;
        let public_url = connection::public_url(registry.as_ref(), &settings_public_url)?;
        tracing::info!(%node_id, %download_id, "rotated download ID");
        Ok(RotatedDownloadId {
            ota_manifest_url: factory_core::manifest_url(&public_url, &download_id),
            download_id: download_id.to_string(),
        })
    })
    .await
}

#[tauri::command]
pub async fn patch_sdkconfig(state: State<'_, AppState>, input: PatchInput) -> CommandResult<PatchOutcome> {
    let active = Arc::clone(&state.registry);
    let bench_settings = state.settings().bench_settings();
    let node_id = parse_node_id(&input.node_id)?;
    if input.paths.is_empty() {
        return Err(CommandError::invalid("no sdkconfig file was chosen; pick one or more files"));
    }

    let token = match &input.token {
        TokenChoice::Rotate => TokenSource::Rotate,
        TokenChoice::Existing { ota_token } => TokenSource::Provided(parse_token(ota_token)?),
    };
    let request = ProvisionRequest {
        node_id,
        config_files: input.paths.iter().map(PathBuf::from).collect(),
        token,
        rotate_download_id: false,
        mark_provisioned: input.mark_provisioned,
    };

    blocking(move || {
        let outcome = bench::provision::provision(active.registry()?.as_ref(), &bench_settings, &request)?;
        Ok(PatchOutcome {
            patched: outcome.patched_files.iter().map(|path| path.display().to_string()).collect(),
            rotated_token: outcome.new_token.map(|token| token.expose_secret().to_owned()),
        })
    })
    .await
}

/// The audit entries one page of the detail panel shows.
const AUDIT_PAGE_SIZE: u32 = 50;

/// Returns a page of the registration's audit log, newest first: the first page, or the
/// entries older than `before_id`.
#[tauri::command]
pub async fn list_audit_entries(
    state: State<'_, AppState>,
    node_id: String,
    before_id: Option<i64>,
) -> CommandResult<AuditPage> {
    let active = Arc::clone(&state.registry);
    let node_id = parse_node_id(&node_id)?;
    blocking(move || audit_page(active.registry()?.as_ref(), node_id, before_id, AUDIT_PAGE_SIZE)).await
}

/// Reads `page_size` audit entries of a registration, newest first, older than `before_id`.
pub fn audit_page(
    registry: &dyn Registry,
    node_id: NodeId,
    before_id: Option<i64>,
    page_size: u32,
) -> CommandResult<AuditPage> {
    // One entry more than the page, to learn whether an older page exists.
    let query = AuditQuery { node_id: Some(node_id), before_id, limit: page_size + 1 };
    let mut entries = registry.audit_log(&query)?;
    let more = entries.len() > page_size as usize;
    entries.truncate(page_size as usize);
    Ok(AuditPage {
        next_before_id: if more { entries.last().map(|entry| entry.id) } else { None },
        entries: entries.iter().map(AuditRow::from).collect(),
    })
}

/// Parses a pasted OTA token; tokens of older systems have no `ulota_` prefix.
pub fn parse_token(text: &str) -> CommandResult<OtaToken> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CommandError::new("token_required", "no OTA token was pasted"));
    }
    Ok(OtaToken::parse(text).or_else(|_| OtaToken::from_legacy(text))?)
}
