//! The registry server's HTTP client: a [`Registry`] whose every call is one request to
//! the server's REST API.
//!
//! The client is blocking, like the trait. Create and call it outside an async runtime, or
//! inside `spawn_blocking`, because reqwest's blocking client runs its own runtime.

mod decode;
mod token_file;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    Permission, RegistrationPage, Registry, RegistryError, Reservation, ReserveRequest, ServerInfo,
    StatusCounts, wire,
};

/// The environment variable naming a PEM file of extra CA certificates to trust, for a
/// registry server whose certificate no public CA signed.
pub const CA_CERT_VARIABLE: &str = "NODE_FACTORY_CA_CERT";

/// Timeouts, retries and trust of an [`HttpRegistry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// How long to wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// How long one attempt of a read may take, from sending to the end of the response body.
    pub read_timeout: Duration,
    /// How long a read may take in total, retries and their waits included, so that a
    /// stalled server fails a command in about this time.
    pub read_deadline: Duration,
    /// How long one change may take. A mint of a large batch is the slowest request.
    pub write_timeout: Duration,
    /// How often a retry-safe request is sent at most, the first attempt included. Only
    /// reads and mints with an idempotency key are retried, because repeating them cannot
    /// change the outcome.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles for each further one, with jitter.
    pub initial_backoff: Duration,
    /// PEM certificates to trust besides the platform's CA store, such as a server's
    /// self-signed certificate.
    pub extra_root_certificates: Vec<Vec<u8>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            read_deadline: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            extra_root_certificates: Vec::new(),
        }
    }
}

impl HttpOptions {
    /// Returns the default options, trusting also the certificates of the PEM file that
    /// `NODE_FACTORY_CA_CERT` names, when it is set.
    pub fn from_env() -> Result<HttpOptions, RegistryError> {
        let mut options = HttpOptions::default();
        if let Some(path) = std::env::var_os(CA_CERT_VARIABLE).filter(|path| !path.is_empty()) {
            let pem = std::fs::read(&path).map_err(|error| {
                RegistryError::invalid(
                    CA_CERT_VARIABLE,
                    format!(
                        "cannot read {}: {error}; point it at a PEM certificate file",
                        Path::new(&path).display()
                    ),
                )
            })?;
            options.extra_root_certificates.push(pem);
        }
        Ok(options)
    }
}

/// A registry on a registry server, reached over HTTP(S) with an operator token.
pub struct HttpRegistry {
    base_url: String,
    client: Client,
    token: OperatorToken,
    options: HttpOptions,
    /// The server's facts, read on first use; they change only when the server restarts.
    server_info: Mutex<Option<ServerInfo>>,
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
        let mut builder = Client::builder()
            .use_rustls_tls()
            .connect_timeout(options.connect_timeout)
            .timeout(options.write_timeout)
            .user_agent(concat!("node-factory/", env!("CARGO_PKG_VERSION")));
        for pem in &options.extra_root_certificates {
            let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|error| {
                RegistryError::invalid(
                    CA_CERT_VARIABLE,
                    format!("the file is not a PEM certificate ({error})"),
                )
            })?;
            if certificates.is_empty() {
                return Err(RegistryError::invalid(CA_CERT_VARIABLE, "the file contains no PEM certificate"));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(|error| RegistryError::ServerUnreachable {
            url: base_url.clone(),
            detail: format!("the HTTP client could not be set up ({error})"),
        })?;
        Ok(HttpRegistry { base_url, client, token, options, server_info: Mutex::new(None) })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn api_url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base_url)
    }

    fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, RegistryError> {
        let url = self.api_url(&call.path);
        let started = Instant::now();
        let response = self.send_with_retries(&call, &url)?;
        let status = response.status();
        let request_id = header_text(&response, REQUEST_ID_HEADER);
        tracing::debug!(
            method = %call.method,
            url,
            status = status.as_u16(),
            request_id = request_id.as_deref().unwrap_or(""),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "registry server request"
        );
        let bytes = response.bytes().map_err(|error| self.unreachable(&url, &error, 1))?;

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
        let is_read = call.method == Method::GET;
        let deadline = Instant::now() + self.options.read_deadline;
        let mut attempt = 1;
        loop {
            let timeout = if is_read {
                self.options.read_timeout.min(deadline.saturating_duration_since(Instant::now()))
            } else {
                self.options.write_timeout
            };
            let mut request = self
                .client
                .request(call.method.clone(), url)
                .timeout(timeout)
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
            let delay = self.backoff(attempt);
            let past_deadline = is_read && Instant::now() + delay >= deadline;
            if !retryable || attempt >= attempts || past_deadline {
                return outcome.map_err(|error| self.unreachable(url, &error, attempt));
            }

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

    fn unreachable(&self, url: &str, error: &reqwest::Error, attempts: u32) -> RegistryError {
        if error.is_timeout() {
            let noun = if attempts == 1 { "attempt" } else { "attempts" };
            return RegistryError::ServerTimedOut {
                url: url.to_owned(),
                detail: format!("{attempts} {noun}, the last one timed out"),
            };
        }
        // reqwest's own message is generic ("error sending request"); the cause, such as a
        // refused connection or an untrusted certificate, is further down the chain.
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
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
            // Only a failed firmware move carries a message for people; other 5xx bodies are
            // generic and the detail is in the server's log under the request ID.
            return match serde_json::from_slice::<ErrorBody>(bytes) {
                Ok(body) if body.code == "firmware_move_failed" => {
                    RegistryError::Rejected { status, code: body.code, message: body.message }
                }
                _ => RegistryError::ServerFailed { url: url.to_owned(), status, request_id },
            };
        }
        let body: ErrorBody = serde_json::from_slice(bytes).unwrap_or_else(|_| ErrorBody {
            code: format!("http_{status}"),
            message: String::from_utf8_lossy(bytes).chars().take(500).collect(),
            field: None,
            reason: None,
        });

        match (status, body.code.as_str()) {
            (401, _) => RegistryError::NotAuthorised { url: url.to_owned(), detail: body.message },
            (403, _) => RegistryError::Forbidden { url: url.to_owned(), detail: body.message },
            (429, _) => RegistryError::TooManyAttempts { url: url.to_owned(), detail: body.message },
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

    fn server_info(&self) -> Result<Option<ServerInfo>, RegistryError> {
        let mut cached = self.server_info.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cached.is_none() {
            *cached = Some(self.call(Call::new(Method::GET, "/info", Subject::default()))?);
        }
        Ok(cached.clone())
    }

    fn check_permissions(&self, needed: &[Permission]) -> Result<(), RegistryError> {
        let info = self.server_info()?.expect("an HTTP registry always has server facts");
        match needed.iter().find(|permission| !info.role.allows(**permission)) {
            Some(permission) => Err(RegistryError::Forbidden {
                url: self.base_url.clone(),
                detail: permission.refusal(&info.operator, info.role),
            }),
            None => Ok(()),
        }
    }
}
