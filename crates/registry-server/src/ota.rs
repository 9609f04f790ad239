//! OTA downloads for nodes: the manifest and the image under `/firmware/{download_id}/`.
//!
//! A node authenticates with its OTA token as a bearer token. An unknown download ID, a
//! missing token and a wrong token all get the same 404 with the same body, so a caller
//! cannot tell which part was wrong or whether the download ID exists.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use factory_core::{DownloadId, OtaToken, TokenHash, firmware_folder};
use registry::{AuditContext, Registry, RegistryError};

use crate::auth::bearer_token;
use crate::error::ApiError;
use crate::extract::path_parameter;
use crate::state::AppState;

/// A file a node may download.
#[derive(Debug, Clone, Copy)]
pub enum FirmwareFile {
    Manifest,
    Image,
}

impl FirmwareFile {
    fn name(self) -> &'static str {
        match self {
            FirmwareFile::Manifest => "manifest.json",
            FirmwareFile::Image => "latest.bin",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            FirmwareFile::Manifest => "application/json",
            FirmwareFile::Image => "application/octet-stream",
        }
    }
}

pub async fn manifest(State(state): State<AppState>, request: Request) -> Response {
    download(state, request, FirmwareFile::Manifest).await.unwrap_or_else(IntoResponse::into_response)
}

pub async fn image(State(state): State<AppState>, request: Request) -> Response {
    download(state, request, FirmwareFile::Image).await.unwrap_or_else(IntoResponse::into_response)
}

async fn download(state: AppState, request: Request, file: FirmwareFile) -> Result<Response, ApiError> {
    let token = bearer_token(&request).map(str::to_owned);
    let (mut parts, _) = request.into_parts();
    let download_id = path_parameter(&mut parts, &state, "download_id")
        .await
        .ok()
        .and_then(|text| text.parse::<DownloadId>().ok());

    if !is_authorised(&state, download_id.as_ref(), token).await? {
        return Err(ApiError::OtaRefused);
    }
    let download_id = download_id.expect("an authorised request has a download ID");

    let Some(firmware_dir) = &state.settings.firmware_dir else {
        return Err(ApiError::FirmwareNotPublished { file: file.name() });
    };
    // The download ID passed its parser (32 hex digits), so the path stays inside the folder.
    let path = firmware_folder(firmware_dir, &download_id).join(file.name());
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::FirmwareNotPublished { file: file.name() });
        }
        Err(error) => {
            return Err(ApiError::Internal { detail: format!("cannot read {}: {error}", path.display()) });
        }
    };

    tracing::info!(%download_id, file = file.name(), bytes = bytes.len(), "served OTA download");
    let mut response = Body::from(bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type()));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Checks the token against the registration's stored hash in constant time.
///
/// NOTE: a record imported with a legacy plaintext token is checked against its stored hash
/// only, so its node's old token works here once provisioning has consumed the legacy token. Without a
/// registration the check still hashes the token against a stand-in, so both refusals take
/// about as long.
async fn is_authorised(
    state: &AppState,
    download_id: Option<&DownloadId>,
    token: Option<String>,
) -> Result<bool, ApiError> {
    let token = token.unwrap_or_default();
    let stored = match download_id {
        Some(download_id) => {
            let download_id = download_id.clone();
            let context = AuditContext { actor: "ota".to_owned(), request_id: None };
            match state.run(context, move |registry| registry.get_by_download_id(&download_id)).await {
                Ok(registration) => Some(registration.token_hash),
                Err(ApiError::Registry(RegistryError::DownloadIdNotFound { .. })) => None,
                Err(error) => return Err(error),
            }
        }
        None => None,
    };

    let stand_in = TokenHash::of(OtaToken::PREFIX);
    let matches = stored.as_ref().unwrap_or(&stand_in).matches(&token);
    Ok(stored.is_some() && matches)
}
