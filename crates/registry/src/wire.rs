//! The messages the registry server and its HTTP client exchange, beyond the model types:
//! the error body, request and response wrappers, header names and the query strings of
//! list and audit requests. Both sides use these definitions, so they cannot drift apart.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use factory_core::{Chip, DownloadId, HardwareMetadata, NodeId, OtaToken, RegistrationStatus};
use serde::{Deserialize, Serialize};

use crate::{
    AuditEntry, AuditQuery, FlashRecord, ListQuery, MintedRegistration, RegistryError, SortDirection, SortKey,
};

/// The path prefix of the REST API.
pub const API_PREFIX: &str = "/api/v1";

/// The request header that makes a mint retry-safe.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The header that carries a request's ID, in the request (optional) and the response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The maximum length of an idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LENGTH: usize = 200;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable, machine-readable code, such as `registration_not_found`.
    pub code: String,
    /// A sentence for people, naming the value and the next step.
    pub message: String,
    /// The request field that was invalid, for `invalid_input`, or what already exists, for
    /// `conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The message without the field, for `invalid_input` and `conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MintResponse {
    pub registrations: Vec<MintedRegistration>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtaTokenResponse {
    pub ota_token: OtaToken,
}

/// The response to consuming a legacy token. The token is plain text because legacy tokens
/// have no prefix and would not parse as an [`OtaToken`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LegacyTokenResponse {
    pub ota_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DownloadIdResponse {
    pub download_id: DownloadId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetadataRequest {
    /// The new metadata, or `null` to clear it.
    pub metadata: Option<HardwareMetadata>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProvisionedRequest {
    /// The provisioning time; the server's clock when absent.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseRequest {
    pub lease_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlashHistoryResponse {
    pub records: Vec<FlashRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditResponse {
    pub entries: Vec<AuditEntry>,
}

/// Checks an idempotency key: 1 to 200 printable ASCII characters without spaces, because
/// it travels in an HTTP header.
pub fn validate_idempotency_key(key: &str) -> Result<(), RegistryError> {
    let valid = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LENGTH
        && key.bytes().all(|byte| byte.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(RegistryError::invalid(
            "idempotency_key",
            format!("give 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces"),
        ))
    }
}

/// Returns the query string parameters of a list request, leaving out defaults.
pub fn list_query_to_params(query: &ListQuery) -> Vec<(&'static str, String)> {
    let defaults = ListQuery::default();
    let mut params = Vec::new();
    if let Some(status) = query.status {
        params.push(("status", status.as_str().to_owned()));
    }
    if let Some(chip) = query.target_chip {
        params.push(("target_chip", chip.idf_target().to_owned()));
    }
    if let Some(search) = &query.search {
        params.push(("search", search.clone()));
    }
    if query.sort != defaults.sort {
        params.push(("sort", sort_key_name(query.sort).to_owned()));
    }
    if query.direction != defaults.direction {
        params.push(("direction", direction_name(query.direction).to_owned()));
    }
    if query.offset != defaults.offset {
        params.push(("offset", query.offset.to_string()));
    }
    params.push(("limit", query.limit.to_string()));
    params
}

/// Parses the query string parameters of a list request, naming the parameter that is
/// invalid. Unknown parameters are rejected so that a misspelt filter is not silently ignored.
pub fn list_query_from_params(params: &HashMap<String, String>) -> Result<ListQuery, RegistryError> {
    reject_unknown(params, &["status", "target_chip", "search", "sort", "direction", "offset", "limit"])?;
    let mut query = ListQuery::default();
    if let Some(text) = params.get("status") {
        query.status = Some(
            text.parse::<RegistrationStatus>().map_err(|reason| RegistryError::invalid("status", reason))?,
        );
    }
    if let Some(text) = params.get("target_chip") {
        query.target_chip = Some(
            text.parse::<Chip>().map_err(|error| RegistryError::invalid("target_chip", error.to_string()))?,
        );
    }
    query.search = params.get("search").cloned();
    if let Some(text) = params.get("sort") {
        query.sort = [SortKey::CreatedAt, SortKey::NodeId, SortKey::Status, SortKey::TargetChip, SortKey::ProvisionedAt]
            .into_iter()
            .find(|key| sort_key_name(*key) == text)
            .ok_or_else(|| {
                RegistryError::invalid(
                    "sort",
                    format!("{text:?} is not a sort key; use created_at, node_id, status, target_chip or provisioned_at"),
                )
            })?;
    }
    if let Some(text) = params.get("direction") {
        query.direction = [SortDirection::Ascending, SortDirection::Descending]
            .into_iter()
            .find(|direction| direction_name(*direction) == text)
            .ok_or_else(|| {
                RegistryError::invalid(
                    "direction",
                    format!("{text:?} is not a direction; use ascending or descending"),
                )
            })?;
    }
    if let Some(text) = params.get("offset") {
        query.offset = parse_number("offset", text)?;
    }
    if let Some(text) = params.get("limit") {
        query.limit = parse_number("limit", text)?;
    }
    Ok(query)
}

pub fn audit_query_to_params(query: &AuditQuery) -> Vec<(&'static str, String)> {
    let mut params = vec![("limit", query.limit.to_string())];
    if let Some(node_id) = &query.node_id {
        params.push(("node_id", node_id.to_string()));
    }
    if let Some(before_id) = query.before_id {
        params.push(("before_id", before_id.to_string()));
    }
    params
}

pub fn audit_query_from_params(params: &HashMap<String, String>) -> Result<AuditQuery, RegistryError> {
    reject_unknown(params, &["node_id", "before_id", "limit"])?;
    let mut query = AuditQuery::default();
    if let Some(text) = params.get("node_id") {
        query.node_id = Some(
            text.parse::<NodeId>().map_err(|error| RegistryError::invalid("node_id", error.to_string()))?,
        );
    }
    if let Some(text) = params.get("before_id") {
        query.before_id = Some(parse_number("before_id", text)?);
    }
    if let Some(text) = params.get("limit") {
        query.limit = parse_number("limit", text)?;
    }
    Ok(query)
}

fn sort_key_name(key: SortKey) -> &'static str {
    match key {
        SortKey::CreatedAt => "created_at",
        SortKey::NodeId => "node_id",
        SortKey::Status => "status",
        SortKey::TargetChip => "target_chip",
        SortKey::ProvisionedAt => "provisioned_at",
    }
}

fn direction_name(direction: SortDirection) -> &'static str {
    match direction {
        SortDirection::Ascending => "ascending",
        SortDirection::Descending => "descending",
    }
}

fn parse_number<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, RegistryError> {
    text.parse().map_err(|_| {
        RegistryError::invalid(
            field,
            format!("{text:?} is not a whole number in range; give a non-negative integer"),
        )
    })
}

fn reject_unknown(params: &HashMap<String, String>, known: &[&str]) -> Result<(), RegistryError> {
    match params.keys().find(|name| !known.contains(&name.as_str())) {
        Some(name) => Err(RegistryError::invalid(
            name,
            format!("{name:?} is not a query parameter of this request; use {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_map(params: Vec<(&'static str, String)>) -> HashMap<String, String> {
        params.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
    }

    #[test]
    fn list_query_round_trips_through_params() {
        let query = ListQuery {
            status: Some(RegistrationStatus::Provisioned),
            target_chip: Some(Chip::Esp32s3),
            search: Some("aa:bb".to_owned()),
            sort: SortKey::ProvisionedAt,
            direction: SortDirection::Descending,
            offset: 40,
            limit: 20,
        };
        assert_eq!(list_query_from_params(&as_map(list_query_to_params(&query))).unwrap(), query);
        assert_eq!(
            list_query_from_params(&as_map(list_query_to_params(&ListQuery::default()))).unwrap(),
            ListQuery::default()
        );
    }

    #[test]
    fn list_query_names_bad_parameter() {
        for (name, value) in [
            ("status", "gone"),
            ("target_chip", "esp8266"),
            ("sort", "mac"),
            ("direction", "up"),
            ("offset", "-1"),
            ("limit", "99999999999"),
            ("colour", "red"),
        ] {
            let params = HashMap::from([(name.to_owned(), value.to_owned())]);
            let error = list_query_from_params(&params).unwrap_err();
            assert_eq!(error.code(), "invalid_input", "{name}={value}");
            let message = error.to_string();
            assert!(message.contains(name) || message.contains("chip"), "{name}={value}: {message}");
        }
    }

    #[test]
    fn audit_query_round_trips_through_params() {
        let query = AuditQuery { node_id: Some(NodeId::generate()), before_id: Some(7), limit: 3 };
        assert_eq!(audit_query_from_params(&as_map(audit_query_to_params(&query))).unwrap(), query);
    }

    #[test]
    fn idempotency_key_checks() {
        assert!(validate_idempotency_key("batch-2026-01-02").is_ok());
        for bad in ["", "with space", "tab\t", &"k".repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1)] {
            assert!(validate_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }
}
