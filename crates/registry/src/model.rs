//! The requests and records that cross the `Registry` trait. They are serializable because the
//! HTTP registry sends the same types over the wire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use factory_core::{Chip, HardwareMetadata, NodeId, OtaToken, Registration, RegistrationStatus};
use serde::{Deserialize, Serialize};

use crate::{RegistryError, Role};

/// The largest batch one mint request may ask for. It bounds the memory and the length of
/// the single transaction that holds a batch.
pub const MAX_MINT_COUNT: u32 = 100_000;

/// The largest page one list request may ask for.
pub const MAX_LIST_LIMIT: u32 = 100_000;

/// The largest offset of a list request: SQLite counts rows in signed 64-bit integers.
pub const MAX_LIST_OFFSET: u64 = i64::MAX as u64;

/// How far a provisioning or flash time may lie outside the span from the registration's
/// creation to now, because bench and server clocks differ a little.
pub const MAX_CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// A request for a batch of new registrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    pub count: u32,
    #[serde(default)]
    pub target_chip: Option<Chip>,
    #[serde(default)]
    pub metadata: NodeMetadata,
    /// Makes a retried request return the batch of the first one instead of minting again.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// The hardware metadata of a batch: none, one object for every node, or one per node in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeMetadata {
    #[default]
    None,
    Same(HardwareMetadata),
    PerNode(Vec<HardwareMetadata>),
}

impl MintRequest {
    /// Checks the request and works out each node's target chip and metadata.
    ///
    /// A node's chip comes from the request, or else from its metadata's `target`; when both
    /// are given they must agree.
    pub fn resolve(&self) -> Result<Vec<PlannedNode>, RegistryError> {
        self.check_count(MAX_MINT_COUNT)?;
        let count = self.count as usize;

        let per_node: Vec<Option<&HardwareMetadata>> = match &self.metadata {
            NodeMetadata::None => vec![None; count],
            NodeMetadata::Same(metadata) => vec![Some(metadata); count],
            NodeMetadata::PerNode(list) if list.len() == count => list.iter().map(Some).collect(),
            NodeMetadata::PerNode(list) => {
                return Err(RegistryError::invalid(
                    "metadata",
                    format!(
                        "the list has {} entries but the count is {count}; give one object for every node, or a list of exactly {count}",
                        list.len()
                    ),
                ));
            }
        };

        per_node
            .into_iter()
            .enumerate()
            .map(|(position, metadata)| {
                let target_chip = self.resolve_chip(position, metadata)?;
                Ok(PlannedNode { target_chip, metadata: metadata.cloned() })
            })
            .collect()
    }

    /// Checks that the count is between 1 and `max_batch`, the largest batch of the registry
    /// that will mint it.
    pub fn check_count(&self, max_batch: u32) -> Result<(), RegistryError> {
        if self.count == 0 || self.count > max_batch {
            return Err(RegistryError::invalid(
                "count",
                format!(
                    "{} is out of range; mint between 1 and {max_batch} registrations per batch",
                    self.count
                ),
            ));
        }
        Ok(())
    }

    fn resolve_chip(
        &self,
        position: usize,
        metadata: Option<&HardwareMetadata>,
    ) -> Result<Option<Chip>, RegistryError> {
        let from_metadata = match metadata {
            Some(metadata) => metadata.target()?,
            None => None,
        };
        match (self.target_chip, from_metadata) {
            (Some(requested), Some(declared)) if requested != declared => Err(RegistryError::invalid(
                "target_chip",
                format!(
                    "the batch targets {requested} but the metadata of node {} says \"target\": \"{declared}\"; make them agree",
                    position + 1
                ),
            )),
            (requested, declared) => {
                let chip = requested.or(declared);
                if let (Some(chip), Some(metadata)) = (chip, metadata) {
                    metadata.check_pins_for(chip).map_err(|error| {
                        RegistryError::invalid("metadata", format!("node {}: {error}", position + 1))
                    })?;
                }
                Ok(chip)
            }
        }
    }
}

/// What one node of a batch will be minted with.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedNode {
    pub target_chip: Option<Chip>,
    pub metadata: Option<HardwareMetadata>,
}

/// A freshly minted registration with the only copy of its token's plaintext.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MintedRegistration {
    pub registration: Registration,
    pub ota_token: OtaToken,
}

/// Which registrations to list, in which order, and which page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub status: Option<RegistrationStatus>,
    pub target_chip: Option<Chip>,
    /// Matches part of a node ID, download ID, house slug, or a MAC address from the flash
    /// history, ignoring case.
    pub search: Option<String>,
    pub sort: SortKey,
    pub direction: SortDirection,
    pub offset: u64,
    pub limit: u32,
}

impl ListQuery {
    /// Checks the page size and offset.
    pub fn validate(&self) -> Result<(), RegistryError> {
        if self.limit == 0 || self.limit > MAX_LIST_LIMIT {
            return Err(RegistryError::invalid(
                "limit",
                format!(
                    "{} is out of range; ask for 1 to {MAX_LIST_LIMIT} registrations per page",
                    self.limit
                ),
            ));
        }
        if self.offset > MAX_LIST_OFFSET {
            return Err(RegistryError::invalid(
                "offset",
                format!("{} is out of range; give an offset from 0 to {MAX_LIST_OFFSET}", self.offset),
            ));
        }
        Ok(())
    }
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            status: None,
            target_chip: None,
            search: None,
            sort: SortKey::CreatedAt,
            direction: SortDirection::Ascending,
            offset: 0,
            limit: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    CreatedAt,
    NodeId,
    Status,
    TargetChip,
    ProvisionedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    Ascending,
    Descending,
}

/// One page of a listing, with the number of matches across all pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationPage {
    pub items: Vec<Registration>,
    pub total: u64,
}

/// How many registrations are in each status, and how many are available per chip.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCounts {
    pub total: u64,
    pub available: u64,
    pub assigned: u64,
    pub provisioned: u64,
    /// Keyed by the ESP-IDF target name, or `unspecified` for registrations without a chip.
    pub available_by_chip: BTreeMap<String, u64>,
}

/// Facts about a registry server and the operator calling it. The server is the authority on
/// them: nodes download from its public URL, and its firmware folder holds their images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The server's Node Factory version.
    pub version: String,
    /// The URL nodes reach the server at; manifest URLs written into firmware start with it.
    pub public_url: String,
    /// The name of the operator whose token made the request.
    pub operator: String,
    pub role: Role,
    /// The largest batch one mint request may ask for.
    pub max_batch: u32,
    /// The lease length, in seconds, of a reservation that asks for none.
    pub default_lease_seconds: u32,
    /// The largest request body, in bytes.
    pub body_limit_bytes: u64,
}

/// How a flash attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashOutcome {
    Success,
    Failed,
}

impl FlashOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashOutcome::Success => "success",
            FlashOutcome::Failed => "failed",
        }
    }
}

/// The SHA-256 of one flashed region, so support staff can tell which image a board got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionDigest {
    pub offset: u32,
    pub size: u64,
    pub sha256: String,
}

/// One flash attempt to record, successful or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFlashRecord {
    pub node_id: NodeId,
    pub attempted_at: DateTime<Utc>,
    pub port: String,
    pub bench_host: String,
    pub chip: Option<Chip>,
    pub chip_revision: Option<String>,
    pub mac: Option<String>,
    pub flash_size: Option<u64>,
    pub regions: Vec<RegionDigest>,
    pub outcome: FlashOutcome,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// A recorded flash attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlashRecord {
    pub id: i64,
    #[serde(flatten)]
    pub attempt: NewFlashRecord,
}

/// Checks a provisioning or flash time against the registration's creation time and the
/// current time, allowing [`MAX_CLOCK_SKEW`] either way.
pub fn check_event_time(
    field: &str,
    at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), RegistryError> {
    if at < created_at - MAX_CLOCK_SKEW {
        return Err(RegistryError::invalid(
            field,
            format!(
                "{} is before the registration was created ({}); check the bench's clock",
                at.to_rfc3339(),
                created_at.to_rfc3339()
            ),
        ));
    }
    if at > now + MAX_CLOCK_SKEW {
        return Err(RegistryError::invalid(
            field,
            format!(
                "{} is more than {} minutes in the future; check the bench's clock",
                at.to_rfc3339(),
                MAX_CLOCK_SKEW.num_minutes()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(text: &str) -> HardwareMetadata {
        HardwareMetadata::parse(text).unwrap()
    }

    fn request(count: u32, target_chip: Option<Chip>, metadata: NodeMetadata) -> MintRequest {
        MintRequest { count, target_chip, metadata, idempotency_key: None }
    }

    #[test]
    fn resolve_takes_chip_from_metadata() {
        let nodes =
            request(2, None, NodeMetadata::Same(metadata(r#"{"target":"esp32s3"}"#))).resolve().unwrap();
        assert!(nodes.iter().all(|node| node.target_chip == Some(Chip::Esp32s3)));
    }

    #[test]
    fn resolve_rejects_disagreeing_chip() {
        let error = request(1, Some(Chip::Esp32), NodeMetadata::Same(metadata(r#"{"target":"esp32c3"}"#)))
            .resolve()
            .unwrap_err();
        assert!(error.to_string().contains("make them agree"), "{error}");
    }

    #[test]
    fn list_query_checks_offset() {
        let query = |offset| ListQuery { offset, ..ListQuery::default() };
        assert!(query(MAX_LIST_OFFSET).validate().is_ok());
        let error = query(MAX_LIST_OFFSET + 1).validate().unwrap_err();
        assert!(matches!(&error, RegistryError::InvalidInput { field, .. } if field == "offset"), "{error}");
    }

    #[test]
    fn event_time_allows_small_skew_only() {
        let created = Utc::now() - chrono::TimeDelta::hours(1);
        let now = Utc::now();
        for ok in [created, now, created - chrono::TimeDelta::minutes(4), now + chrono::TimeDelta::minutes(4)]
        {
            assert!(check_event_time("at", ok, created, now).is_ok(), "{ok}");
        }
        for bad in [created - chrono::TimeDelta::minutes(6), now + chrono::TimeDelta::minutes(6)] {
            let error = check_event_time("at", bad, created, now).unwrap_err();
            assert!(matches!(&error, RegistryError::InvalidInput { field, .. } if field == "at"), "{error}");
        }
    }

    #[test]
    fn mint_request_rejects_unknown_fields() {
        let error = serde_json::from_str::<MintRequest>(r#"{"count": 1, "target": "esp32"}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
    }

    #[test]
    fn resolve_checks_count_and_list_length() {
        assert!(request(0, None, NodeMetadata::None).resolve().is_err());
        assert!(request(MAX_MINT_COUNT + 1, None, NodeMetadata::None).resolve().is_err());
        let error = request(3, None, NodeMetadata::PerNode(vec![metadata("{}")])).resolve().unwrap_err();
        assert!(error.to_string().contains("1 entries but the count is 3"), "{error}");
    }
}
