//! The registry server's HTTP client: a [`Registry`] whose every call is one request to
//! the server's REST API.
//!
//! The client is blocking, like the trait. Create and call it outside an async runtime, or
//! inside `spawn_blocking`, because reqwest's blocking client runs its own runtime.

mod decode;
mod token_file;

use std::time::Duration;

use chrono::{DateTime, Utc};
use factory_core::{
    Assignment, Chip, DownloadId, HardwareMetadata, NodeId, OperatorToken, OtaToken, Registration,
};
use rand::Rng;
use reqwest::Method;
use reqwest::blocking::{Client, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::decode::{WireMintResponse, WirePage, WireRegistration, WireReservation};
pub use self::token_file::read_token_file;
use crate::wire::{
    API_PREFIX, AuditResponse, DownloadIdResponse, ErrorBody, FlashHistoryResponse, IDEMPOTENCY_KEY_HEADER,
    LegacyTokenResponse, MetadataRequest, OtaTokenResponse, ProvisionedRequest, REQUEST_ID_HEADER,
    ReleaseRequest,
};
use crate::{
    AuditEntry, AuditQuery, FlashRecord, ListQuery, MintRequest, MintedRegistration, NewFlashRecord,
    RegistrationPage, Registry, RegistryError, Reservation, ReserveRequest, StatusCounts, wire,
};

/// Timeouts and retries of an [`HttpRegistry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// How long to wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// How long one request may take, from sending to the end of the response body. A
    /// mint of a large batch is the slowest request.
    pub request_timeout: Duration,
    /// How often a retry-safe request is sent at most, the first attempt included. Only
    /// reads and mints with an idempotency key are retried, because repeating them cannot
    /// change the outcome.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles for each further one, with jitter.
    pub initial_backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(120),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

/// A registry on a registry server, reached over HTTP(S) with an operator token.
pub struct HttpRegistry {
    base_url: String,
    client: Client,
    token: OperatorToken,
    options: HttpOptions,
}

/// Whether a request may be sent again after a lost response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    Safe,
    Never,
}

/// The subject of a request, to rebuild the precise error from an error code.
#[derive(Default)]
struct Subject<'a> {
    node_id: Option<&'a NodeId>,
    idempotency_key: Option<&'a str>,
    download_id: Option<&'a DownloadId>,
    chip: Option<Chip>,
}

impl Subject<'_> {
    fn node(node_id: &NodeId) -> Subject<'_> {
        Subject { node_id: Some(node_id), ..Subject::default() }
    }
}

/// One request, before it is sent.
struct Call<'a> {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    idempotency_key: Option<&'a str>,
    retry: Retry,
    subject: Subject<'a>,
}

impl<'a> Call<'a> {
    fn new(method: Method, path: impl Into<String>, subject: Subject<'a>) -> Call<'a> {
        let retry = if method == Method::GET { Retry::Safe } else { Retry::Never };
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            retry,
            subject,
        }
    }

    fn json(mut self, body: &impl Serialize) -> Call<'a> {
        self.body = Some(serde_json::to_vec(body).expect("request bodies always serialize"));
        self
    }
}

impl HttpRegistry {
    /// Connects to the server at `base_url` (such as `https://registry.example.com`) with
    /// default timeouts and retries. No request is sent until the first call.
    pub fn new(base_url: &str, token: OperatorToken) -> Result<HttpRegistry, RegistryError> {
        HttpRegistry::with_options(base_url, token, HttpOptions::default())
    }

    pub fn with_options(
        base_url: &str,
        token: OperatorToken,
        options: HttpOptions,
    ) -> Result<HttpRegistry, RegistryError> {
        let base_url = factory_core::validate_public_url(base_url)
            .map_err(|error| RegistryError::invalid("registry URL", error.to_string()))?;
        // The rustls backend with the native-roots feature trusts the platform's CA store.
        let client = Client::builder()
            .use_rustls_tls()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(concat!("node-factory/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| RegistryError::ServerUnreachable {
                url: base_url.clone(),
                detail: format!("the HTTP client could not be set up ({error})"),
            })?;
        Ok(HttpRegistry { base_url, client, token, options })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn api_url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base_url)
    }

    fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, RegistryError> {
        let url = self.api_url(&call.path);
        let response = self.send_with_retries(&call, &url)?;
        let status = response.status();
        let request_id = header_text(&response, REQUEST_ID_HEADER);
        let bytes = response.bytes().map_err(|error| self.unreachable(&url, &error))?;

        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|error| RegistryError::BadResponse {
                url: url.clone(),
                detail: format!("status {status} with a body that does not decode ({error})"),
            });
        }
        Err(self.error_from_response(&url, status.as_u16(), request_id, &bytes, &call.subject))
    }

    fn send_with_retries(&self, call: &Call<'_>, url: &str) -> Result<Response, RegistryError> {
        let attempts = if call.retry == Retry::Safe { self.options.max_attempts.max(1) } else { 1 };
        let mut attempt = 1;
        loop {
            let mut request = self
                .client
                .request(call.method.clone(), url)
                .bearer_auth(self.token.expose_secret())
                .query(&call.query);
            if let Some(body) = &call.body {
                request =
                    request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
            }
            if let Some(key) = call.idempotency_key {
                request = request.header(IDEMPOTENCY_KEY_HEADER, key);
            }

            let outcome = request.send();
            let retryable = match &outcome {
                Ok(response) => response.status().is_server_error(),
                Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),
            };
            if !retryable || attempt >= attempts {
                return outcome.map_err(|error| self.unreachable(url, &error));
            }

            let delay = self.backoff(attempt);
            match &outcome {
                Ok(response) => tracing::warn!(
                    url,
                    status = response.status().as_u16(),
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "registry server failed; retrying"
                ),
                Err(error) => tracing::warn!(
                    url,
                    %error,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "registry server request failed; retrying"
                ),
            }
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    /// Exponential backoff with ±50 % jitter, so that benches that failed together do not
    /// retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.options.initial_backoff.saturating_mul(1 << (attempt - 1).min(10));
        base.mul_f64(rand::rng().random_range(0.5..1.5))
    }

    fn unreachable(&self, url: &str, error: &reqwest::Error) -> RegistryError {
        let detail = if error.is_timeout() {
            format!("no answer within the time limit ({error})")
        } else {
            error.to_string()
        };
        RegistryError::ServerUnreachable { url: url.to_owned(), detail }
    }

    fn error_from_response(
        &self,
        url: &str,
        status: u16,
        request_id: Option<String>,
        bytes: &[u8],
        subject: &Subject<'_>,
    ) -> RegistryError {
        if status >= 500 {
            return RegistryError::ServerFailed { url: url.to_owned(), status, request_id };
        }
        let body: ErrorBody = serde_json::from_slice(bytes).unwrap_or_else(|_| ErrorBody {
            code: format!("http_{status}"),
            message: String::from_utf8_lossy(bytes).chars().take(500).collect(),
            field: None,
            reason: None,
        });

        match (status, body.code.as_str()) {
            (401 | 403 | 429, _) => {
                RegistryError::NotAuthorised { url: url.to_owned(), detail: body.message }
            }
            (_, "registration_not_found") if subject.node_id.is_some() => {
                RegistryError::NotFound { node_id: subject.node_id.cloned().expect("checked above") }
            }
            (_, "download_id_not_found") if subject.download_id.is_some() => {
                RegistryError::DownloadIdNotFound {
                    download_id: subject.download_id.cloned().expect("checked above"),
                }
            }
            (_, "none_available") if subject.chip.is_some() => {
                RegistryError::NoneAvailable { chip: subject.chip.expect("checked above") }
            }
            (_, "lease_not_held") if subject.node_id.is_some() => {
                RegistryError::LeaseNotHeld { node_id: subject.node_id.cloned().expect("checked above") }
            }
            (_, "invalid_input") => RegistryError::InvalidInput {
                field: body.field.unwrap_or_else(|| "request".to_owned()),
                reason: body.reason.unwrap_or(body.message),
            },
            (_, "conflict") if body.field.as_deref() == Some("idempotency_key") => {
                RegistryError::IdempotencyKeyRefused {
                    key: subject.idempotency_key.unwrap_or_default().to_owned(),
                    reason: body.reason.unwrap_or(body.message),
                }
            }
            (_, "conflict") => RegistryError::Conflict {
                what: body.field.unwrap_or_else(|| "the value".to_owned()),
                detail: body.reason.unwrap_or(body.message),
            },
            _ => RegistryError::Rejected { status, code: body.code, message: body.message },
        }
    }
}

fn header_text(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
}

fn node_path(node_id: &NodeId, rest: &str) -> String {
    format!("/registrations/{node_id}{rest}")
}

impl Registry for HttpRegistry {
    fn mint_batch(&self, request: &MintRequest) -> Result<Vec<MintedRegistration>, RegistryError> {
        // Every mint carries an idempotency key, so that a retry after a lost response
        // returns the same batch instead of minting a second one.
        let key = match &request.idempotency_key {
            Some(key) => {
                wire::validate_idempotency_key(key)?;
                key.clone()
            }
            None => format!("auto-{}", uuid::Uuid::new_v4().simple()),
        };
        let body = MintRequest { idempotency_key: None, ..request.clone() };
        let subject = Subject { idempotency_key: Some(&key), ..Subject::default() };
        let mut call = Call::new(Method::POST, "/registrations/batches", subject).json(&body);
        call.idempotency_key = Some(&key);
        call.retry = Retry::Safe;

        let response: WireMintResponse = self.call(call)?;
        Ok(response.registrations.into_iter().map(MintedRegistration::from).collect())
    }

    fn list(&self, query: &ListQuery) -> Result<RegistrationPage, RegistryError> {
        let mut call = Call::new(Method::GET, "/registrations", Subject::default());
        call.query = wire::list_query_to_params(query);
        let page: WirePage = self.call(call)?;
        Ok(page.into())
    }

    fn get(&self, node_id: &NodeId) -> Result<Registration, RegistryError> {
        let registration: WireRegistration =
            self.call(Call::new(Method::GET, node_path(node_id, ""), Subject::node(node_id)))?;
        Ok(registration.into())
    }

    fn get_by_download_id(&self, download_id: &DownloadId) -> Result<Registration, RegistryError> {
        let subject = Subject { download_id: Some(download_id), ..Subject::default() };
        let registration: WireRegistration =
            self.call(Call::new(Method::GET, format!("/downloads/{download_id}"), subject))?;
        Ok(registration.into())
    }

    fn counts(&self) -> Result<StatusCounts, RegistryError> {
        self.call(Call::new(Method::GET, "/registrations/counts", Subject::default()))
    }

    fn rotate_token(&self, node_id: &NodeId) -> Result<OtaToken, RegistryError> {
        let response: OtaTokenResponse =
            self.call(Call::new(Method::POST, node_path(node_id, "/rotate-token"), Subject::node(node_id)))?;
        Ok(response.ota_token)
    }

    fn rotate_download_id(&self, node_id: &NodeId) -> Result<DownloadId, RegistryError> {
        let response: DownloadIdResponse = self.call(Call::new(
            Method::POST,
            node_path(node_id, "/rotate-download-id"),
            Subject::node(node_id),
        ))?;
        Ok(response.download_id)
    }

    fn set_metadata(
        &self,
        node_id: &NodeId,
        metadata: Option<&HardwareMetadata>,
    ) -> Result<Registration, RegistryError> {
        let body = MetadataRequest { metadata: metadata.cloned() };
        let registration: WireRegistration = self.call(
            Call::new(Method::PUT, node_path(node_id, "/metadata"), Subject::node(node_id)).json(&body),
        )?;
        Ok(registration.into())
    }

    fn mark_provisioned(&self, node_id: &NodeId, at: DateTime<Utc>) -> Result<Registration, RegistryError> {
        let body = ProvisionedRequest { at: Some(at) };
        let registration: WireRegistration = self.call(
            Call::new(Method::POST, node_path(node_id, "/provisioned"), Subject::node(node_id)).json(&body),
        )?;
        Ok(registration.into())
    }

    fn consume_legacy_token(&self, node_id: &NodeId) -> Result<Option<OtaToken>, RegistryError> {
        let url = self.api_url(&node_path(node_id, "/consume-legacy-token"));
        let response: LegacyTokenResponse = self.call(Call::new(
            Method::POST,
            node_path(node_id, "/consume-legacy-token"),
            Subject::node(node_id),
        ))?;
        response
            .ota_token
            .map(|text| {
                OtaToken::from_legacy(&text)
                    .map_err(|error| RegistryError::BadResponse { url, detail: error.to_string() })
            })
            .transpose()
    }

    fn record_flash(&self, record: &NewFlashRecord) -> Result<FlashRecord, RegistryError> {
        let node_id = &record.node_id;
        self.call(
            Call::new(Method::POST, node_path(node_id, "/flashes"), Subject::node(node_id)).json(record),
        )
    }

    fn flash_history(&self, node_id: &NodeId) -> Result<Vec<FlashRecord>, RegistryError> {
        let response: FlashHistoryResponse =
            self.call(Call::new(Method::GET, node_path(node_id, "/flashes"), Subject::node(node_id)))?;
        Ok(response.records)
    }

    fn assign(&self, node_id: &NodeId, assignment: &Assignment) -> Result<Registration, RegistryError> {
        let registration: WireRegistration = self.call(
            Call::new(Method::PUT, node_path(node_id, "/assignment"), Subject::node(node_id))
                .json(assignment),
        )?;
        Ok(registration.into())
    }

    fn unassign(&self, node_id: &NodeId) -> Result<Registration, RegistryError> {
        let registration: WireRegistration =
            self.call(Call::new(Method::DELETE, node_path(node_id, "/assignment"), Subject::node(node_id)))?;
        Ok(registration.into())
    }

    fn reserve_next(&self, request: &ReserveRequest) -> Result<Reservation, RegistryError> {
        let subject = Subject { chip: Some(request.target_chip), ..Subject::default() };
        let reservation: WireReservation =
            self.call(Call::new(Method::POST, "/reservations", subject).json(request))?;
        Ok(reservation.into())
    }

    fn release_lease(&self, node_id: &NodeId, lease_id: &str) -> Result<(), RegistryError> {
        let body = ReleaseRequest { lease_id: lease_id.to_owned() };
        let _: serde_json::Value = self.call(
            Call::new(Method::POST, format!("/reservations/{node_id}/release"), Subject::node(node_id))
                .json(&body),
        )?;
        Ok(())
    }

    fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, RegistryError> {
        let mut call = Call::new(Method::GET, "/audit", Subject::default());
        call.query = wire::audit_query_to_params(query);
        let response: AuditResponse = self.call(call)?;
        Ok(response.entries)
    }
}
