//! The requests and records that cross the `Registry` trait. They are serializable because the
//! HTTP registry sends the same types over the wire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use factory_core::{Chip, HardwareMetadata, NodeId, OtaToken, Registration, RegistrationStatus};
use serde::{Deserialize, Serialize};

use crate::RegistryError;

/// The largest batch one mint request may ask for. It bounds the memory and the length of
/// the single transaction that holds a batch.
pub const MAX_MINT_COUNT: u32 = 100_000;

/// The largest page one list request may ask for.
pub const MAX_LIST_LIMIT: u32 = 100_000;

/// A request for a batch of new registrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        if self.count == 0 || self.count > MAX_MINT_COUNT {
            return Err(RegistryError::invalid(
                "count",
                format!(
                    "{} is out of range; mint between 1 and {MAX_MINT_COUNT} registrations per batch",
                    self.count
                ),
            ));
        }
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
pub struct RegionDigest {
    pub offset: u32,
    pub size: u64,
    pub sha256: String,
}

/// One flash attempt to record, successful or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    fn resolve_checks_count_and_list_length() {
        assert!(request(0, None, NodeMetadata::None).resolve().is_err());
        assert!(request(MAX_MINT_COUNT + 1, None, NodeMetadata::None).resolve().is_err());
        let error = request(3, None, NodeMetadata::PerNode(vec![metadata("{}")])).resolve().unwrap_err();
        assert!(error.to_string().contains("1 entries but the count is 3"), "{error}");
    }
}
