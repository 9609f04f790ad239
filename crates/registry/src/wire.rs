//! The messages the registry server and its HTTP client exchange, beyond the model types:
//! the error body, request and response wrappers, header names and the query strings of
//! list and audit requests. Both sides use these definitions, so they cannot drift apart.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use factory_core::{
    Chip, DownloadId, HardwareMetadata, NodeId, OtaToken, RegistrationStatus, truncate_for_message,
};
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
#[serde(deny_unknown_fields)]
pub struct MetadataRequest {
    /// The new metadata, or `null` to clear it.
    pub metadata: Option<HardwareMetadata>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedRequest {
    /// The provisioning time; the server's clock when absent.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
/// invalid. Unknown and repeated parameters are rejected, so that a misspelt or doubled filter
/// is not silently ignored.
pub fn list_query_from_params(pairs: &[(String, String)]) -> Result<ListQuery, RegistryError> {
    let params =
        params_by_name(pairs, &["status", "target_chip", "search", "sort", "direction", "offset", "limit"])?;
    let mut query = ListQuery::default();
    if let Some(text) = params.get("status") {
        query.status = Some(
            text.parse::<RegistrationStatus>()
                .map_err(|_| invalid_choice("status", text, "available, assigned or provisioned"))?,
        );
    }
    if let Some(text) = params.get("target_chip") {
        query.target_chip = Some(
            text.parse::<Chip>()
                .map_err(|_| invalid_choice("target_chip", text, "esp32, esp32c3 or esp32s3"))?,
        );
    }
    query.search = params.get("search").map(|text| (*text).to_owned());
    if let Some(text) = params.get("sort") {
        query.sort = [
            SortKey::CreatedAt,
            SortKey::NodeId,
            SortKey::Status,
            SortKey::TargetChip,
            SortKey::ProvisionedAt,
        ]
        .into_iter()
        .find(|key| sort_key_name(*key) == *text)
        .ok_or_else(|| {
            invalid_choice("sort", text, "created_at, node_id, status, target_chip or provisioned_at")
        })?;
    }
    if let Some(text) = params.get("direction") {
        query.direction = match *text {
            "ascending" | "asc" => SortDirection::Ascending,
            "descending" | "desc" => SortDirection::Descending,
            _ => return Err(invalid_choice("direction", text, "ascending (asc) or descending (desc)")),
        };
    }
    if let Some(text) = params.get("offset") {
        query.offset = parse_number("offset", text)?;
    }
    if let Some(text) = params.get("limit") {
        query.limit = parse_number("limit", text)?;
    }
    query.validate()?;
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

pub fn audit_query_from_params(pairs: &[(String, String)]) -> Result<AuditQuery, RegistryError> {
    let params = params_by_name(pairs, &["node_id", "before_id", "limit"])?;
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
    query.validate()?;
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

fn invalid_choice(field: &str, text: &str, choices: &str) -> RegistryError {
    RegistryError::invalid(field, format!("{:?} is not one of {choices}", truncate_for_message(text)))
}

fn parse_number<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, RegistryError> {
    text.parse().map_err(|_| {
        RegistryError::invalid(
            field,
            format!(
                "{:?} is not a whole number in range; give a non-negative integer",
                truncate_for_message(text)
            ),
        )
    })
}

/// Indexes the parameters by name, rejecting names outside `known` and names given twice.
fn params_by_name<'a>(
    pairs: &'a [(String, String)],
    known: &[&str],
) -> Result<HashMap<&'a str, &'a str>, RegistryError> {
    let mut params = HashMap::new();
    for (name, value) in pairs {
        let shown = truncate_for_message(name);
        if !known.contains(&name.as_str()) {
            return Err(RegistryError::invalid(
                &shown,
                format!("{shown:?} is not a query parameter of this request; use {}", known.join(", ")),
            ));
        }
        if params.insert(name.as_str(), value.as_str()).is_some() {
            return Err(RegistryError::invalid(
                name,
                format!("the parameter is given twice; give {name} once"),
            ));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_pairs(params: Vec<(&'static str, String)>) -> Vec<(String, String)> {
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
        assert_eq!(list_query_from_params(&as_pairs(list_query_to_params(&query))).unwrap(), query);
        assert_eq!(
            list_query_from_params(&as_pairs(list_query_to_params(&ListQuery::default()))).unwrap(),
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
            let params = [(name.to_owned(), value.to_owned())];
            let error = list_query_from_params(&params).unwrap_err();
            assert_eq!(error.code(), "invalid_input", "{name}={value}");
            let message = error.to_string();
            assert!(message.contains(name) || message.contains("chip"), "{name}={value}: {message}");
        }
    }

    #[test]
    fn list_query_rejects_repeats_and_takes_short_directions() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
        };
        let error =
            list_query_from_params(&pairs(&[("status", "available"), ("status", "assigned")])).unwrap_err();
        assert!(error.to_string().contains("given twice"), "{error}");
        assert!(matches!(&error, RegistryError::InvalidInput { field, .. } if field == "status"));

        for (text, direction) in [("asc", SortDirection::Ascending), ("desc", SortDirection::Descending)] {
            let query = list_query_from_params(&pairs(&[("direction", text)])).unwrap();
            assert_eq!(query.direction, direction);
        }
        let error = list_query_from_params(&pairs(&[("offset", "18446744073709551615")])).unwrap_err();
        assert!(matches!(&error, RegistryError::InvalidInput { field, .. } if field == "offset"), "{error}");
    }

    #[test]
    fn audit_query_rejects_negative_before_id() {
        for text in ["-1", "0"] {
            let error = audit_query_from_params(&[("before_id".to_owned(), text.to_owned())]).unwrap_err();
            assert!(
                matches!(&error, RegistryError::InvalidInput { field, .. } if field == "before_id"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn long_parameters_are_cut_in_messages() {
        let long = "x".repeat(5000);
        for pairs in [vec![(long.clone(), "1".to_owned())], vec![("sort".to_owned(), long.clone())]] {
            let error = list_query_from_params(&pairs).unwrap_err().to_string();
            assert!(error.len() < 400, "{} characters", error.len());
        }
    }

    #[test]
    fn audit_query_round_trips_through_params() {
        let query = AuditQuery { node_id: Some(NodeId::generate()), before_id: Some(7), limit: 3 };
        assert_eq!(audit_query_from_params(&as_pairs(audit_query_to_params(&query))).unwrap(), query);
    }

    #[test]
    fn idempotency_key_checks() {
        assert!(validate_idempotency_key("batch-2026-01-02").is_ok());
        for bad in ["", "with space", "tab\t", &"k".repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1)] {
            assert!(validate_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }
}
