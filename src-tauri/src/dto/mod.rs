//! The types that cross the IPC boundary, and their conversions from the crates' types.
//!
//! The crates' types stay free of UI concerns (and of a TypeScript generator); these mirror
//! them in the shape the front end uses. `ui/src/lib/backend/bindings.ts` is generated from
//! this folder by the `bindings_are_current` test.

mod remote;

use factory_core::{Chip, Registration, RegistrationStatus};
use registry::{FlashOutcome, FlashRecord, StatusCounts};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::CommandError;

pub use self::remote::*;

/// A target chip by its ESP-IDF name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ChipName {
    Esp32,
    Esp32c3,
    Esp32s3,
}

impl From<Chip> for ChipName {
    fn from(chip: Chip) -> ChipName {
        match chip {
            Chip::Esp32 => ChipName::Esp32,
            Chip::Esp32c3 => ChipName::Esp32c3,
            Chip::Esp32s3 => ChipName::Esp32s3,
        }
    }
}

impl From<ChipName> for Chip {
    fn from(chip: ChipName) -> Chip {
        match chip {
            ChipName::Esp32 => Chip::Esp32,
            ChipName::Esp32c3 => Chip::Esp32c3,
            ChipName::Esp32s3 => Chip::Esp32s3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Available,
    Assigned,
    Provisioned,
}

impl From<RegistrationStatus> for Status {
    fn from(status: RegistrationStatus) -> Status {
        match status {
            RegistrationStatus::Available => Status::Available,
            RegistrationStatus::Assigned => Status::Assigned,
            RegistrationStatus::Provisioned => Status::Provisioned,
        }
    }
}

impl From<Status> for RegistrationStatus {
    fn from(status: Status) -> RegistrationStatus {
        match status {
            Status::Available => RegistrationStatus::Available,
            Status::Assigned => RegistrationStatus::Assigned,
            Status::Provisioned => RegistrationStatus::Provisioned,
        }
    }
}

/// One registration as listed. Times are RFC 3339 strings in UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RegistrationRow {
    pub node_id: String,
    pub download_id: String,
    pub status: Status,
    pub target_chip: Option<ChipName>,
    pub created_at: String,
    pub provisioned_at: Option<String>,
    /// A short description such as `house maple-12 / room 3`, when assigned.
    pub assignment: Option<String>,
    pub house_slug: Option<String>,
    /// The hardware metadata exactly as stored, usually a JSON object.
    pub metadata_json: Option<String>,
    pub has_legacy_token: bool,
}

impl From<&Registration> for RegistrationRow {
    fn from(registration: &Registration) -> RegistrationRow {
        RegistrationRow {
            node_id: registration.node_id.to_string(),
            download_id: registration.download_id.to_string(),
            status: registration.status().into(),
            target_chip: registration.target_chip.map(ChipName::from),
            created_at: registration.created_at.to_rfc3339(),
            provisioned_at: registration.provisioned_at.map(|time| time.to_rfc3339()),
            assignment: registration.assignment.as_ref().map(ToString::to_string),
            house_slug: registration.assignment.as_ref().and_then(|assignment| assignment.house_slug.clone()),
            metadata_json: registration.hardware_metadata.as_ref().map(|metadata| metadata.text().to_owned()),
            has_legacy_token: registration.has_legacy_token,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SortColumn {
    CreatedAt,
    NodeId,
    Status,
    TargetChip,
    ProvisionedAt,
}

/// Which registrations to list and which page of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RegistrationQuery {
    pub status: Option<Status>,
    pub target_chip: Option<ChipName>,
    /// Part of a node ID, download ID, house slug or MAC address.
    pub search: Option<String>,
    pub sort: SortColumn,
    pub descending: bool,
    pub offset: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RegistrationPage {
    pub items: Vec<RegistrationRow>,
    /// Matches across all pages.
    pub total: u32,
}

/// Registration counts; `available_by_chip` is keyed by ESP-IDF name or `unspecified`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Counts {
    pub total: u32,
    pub available: u32,
    pub assigned: u32,
    pub provisioned: u32,
    pub available_by_chip: Vec<ChipCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChipCount {
    pub chip: String,
    pub available: u32,
}

impl From<StatusCounts> for Counts {
    fn from(counts: StatusCounts) -> Counts {
        Counts {
            total: saturate(counts.total),
            available: saturate(counts.available),
            assigned: saturate(counts.assigned),
            provisioned: saturate(counts.provisioned),
            available_by_chip: counts
                .available_by_chip
                .into_iter()
                .map(|(chip, available)| ChipCount { chip, available: saturate(available) })
                .collect(),
        }
    }
}

/// Clamps a count to `u32`, the largest integer TypeScript's `number` holds exactly that
/// this interface needs; registries stay far below it.
pub fn saturate(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// One recorded flash attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FlashAttempt {
    pub attempted_at: String,
    pub port: String,
    pub bench_host: String,
    pub chip: Option<ChipName>,
    pub chip_revision: Option<String>,
    pub mac: Option<String>,
    pub flash_size: Option<u32>,
    pub succeeded: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub regions: Vec<FlashedRegion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FlashedRegion {
    pub offset: u32,
    pub size: u32,
    pub sha256: String,
}

impl From<&FlashRecord> for FlashAttempt {
    fn from(record: &FlashRecord) -> FlashAttempt {
        let attempt = &record.attempt;
        FlashAttempt {
            attempted_at: attempt.attempted_at.to_rfc3339(),
            port: attempt.port.clone(),
            bench_host: attempt.bench_host.clone(),
            chip: attempt.chip.map(ChipName::from),
            chip_revision: attempt.chip_revision.clone(),
            mac: attempt.mac.clone(),
            flash_size: attempt.flash_size.map(saturate),
            succeeded: attempt.outcome == FlashOutcome::Success,
            error_code: attempt.error_code.clone(),
            error_message: attempt.error_message.clone(),
            regions: attempt
                .regions
                .iter()
                .map(|region| FlashedRegion {
                    offset: region.offset,
                    size: saturate(region.size),
                    sha256: region.sha256.clone(),
                })
                .collect(),
        }
    }
}

/// A registration with everything the detail panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RegistrationDetail {
    pub registration: RegistrationRow,
    pub ota_manifest_url: String,
    /// Newest first.
    pub flash_history: Vec<FlashAttempt>,
}

/// What to mint: `metadata_json` is one object for every node, a list of one object per node,
/// or absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MintInput {
    pub count: u32,
    pub target_chip: Option<ChipName>,
    pub metadata_json: Option<String>,
}

/// A minted registration with the only copy of its OTA token.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MintedRow {
    pub registration: RegistrationRow,
    pub ota_token: String,
    pub ota_manifest_url: String,
}

/// Keeps the token out of `Debug` output, like `factory_core::OtaToken` does.
impl std::fmt::Debug for MintedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedRow")
            .field("node_id", &self.registration.node_id)
            .field("ota_token", &"…redacted")
            .finish()
    }
}

/// A minted batch. The backend keeps it until it is exported or discarded, so the export
/// needs no tokens from the front end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MintedBatch {
    pub batch_id: String,
    pub rows: Vec<MintedRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
}

/// Hardware metadata read from a file, checked and pretty-printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ImportedMetadata {
    pub text: String,
    /// 1 for one object, or the length of a list of objects.
    pub node_count: u32,
}

/// A rotated OTA token: shown once, never stored in plaintext.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RotatedToken {
    pub ota_token: String,
}

impl std::fmt::Debug for RotatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RotatedToken(…redacted)")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RotatedDownloadId {
    pub download_id: String,
    pub ota_manifest_url: String,
}

/// Where the OTA token written into firmware comes from.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenChoice {
    /// Mint a new token; the old one stops working.
    Rotate,
    /// Use the token minted earlier, pasted from the export file.
    Existing { ota_token: String },
}

impl std::fmt::Debug for TokenChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenChoice::Rotate => f.write_str("Rotate"),
            TokenChoice::Existing { .. } => f.write_str("Existing(…redacted)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PatchInput {
    pub node_id: String,
    pub paths: Vec<String>,
    pub token: TokenChoice,
    /// Mark the registration provisioned once the files are written; off when the files are
    /// only staged for a later build.
    pub mark_provisioned: bool,
}

#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PatchOutcome {
    pub patched: Vec<String>,
    /// The new token when the patch rotated it: shown once.
    pub rotated_token: Option<String>,
}

impl std::fmt::Debug for PatchOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchOutcome")
            .field("patched", &self.patched)
            .field("rotated_token", &self.rotated_token.as_ref().map(|_| "…redacted"))
            .finish()
    }
}

/// Whether ESP-IDF was found, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EspIdfStatus {
    pub found: bool,
    pub idf_py: Option<String>,
    pub detail: String,
}

/// A serial port on the bench.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BenchPort {
    /// The device path, such as `/dev/ttyUSB0`; also the port's identity.
    pub name: String,
    /// The USB bridge, such as `CP210x`, `CH340` or `USB-Serial-JTAG`, when known.
    pub bridge: Option<String>,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub serial_number: Option<String>,
    /// Set for boards from the built-in simulator.
    pub simulated: bool,
    /// The chip the simulator carries; real boards report theirs once probed by a flash job.
    pub chip: Option<ChipName>,
}

/// The ports that appeared and went since the last event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PortsChanged {
    pub added: Vec<BenchPort>,
    pub removed: Vec<String>,
}

/// Where the firmware of a flash job comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FirmwareSource {
    /// An ESP-IDF project folder, patched for the registration and built with `idf.py`.
    Project { path: String },
    /// An existing build folder with `flasher_args.json`.
    BuildFolder { path: String },
    /// An application ELF; the bootloader and partition table are added.
    Elf { path: String },
}

/// Everything a flash job needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FlashJobInput {
    pub port: String,
    pub node_id: String,
    pub source: FirmwareSource,
    pub token: TokenChoice,
    /// Erase the whole flash before writing, so nothing from earlier firmware stays.
    pub erase_all: bool,
    /// Keep the per-job build folder and patched sdkconfig, which contain the OTA token.
    pub keep_build_files: bool,
}

/// A stage of a flash job, in the order they run. Stages that do not apply are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum JobStage {
    Preparing,
    Building,
    Connecting,
    Erasing,
    Writing,
    Verifying,
    Recording,
}

/// What a flash job reports over its channel. `Finished` or `Failed` is always last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlashJobEvent {
    Stage {
        stage: JobStage,
    },
    /// A line of `idf.py` output or of the flash log.
    Log {
        line: String,
    },
    ChipDetected {
        chip: ChipName,
        revision: Option<String>,
        mac: String,
        flash_size: Option<u32>,
    },
    /// Writing of region `index` (counted from 0, in offset order) has started. `name` is the
    /// image file, when known.
    RegionStarted {
        index: u32,
        offset: u32,
        size: u32,
        name: Option<String>,
    },
    RegionProgress {
        index: u32,
        written: u32,
        total: u32,
    },
    /// The region already held the same bytes and was not written again.
    RegionSkipped {
        index: u32,
    },
    RegionDone {
        index: u32,
    },
    Finished {
        node_id: String,
        mac: String,
    },
    Failed {
        error: CommandError,
    },
}

/// Redacts secrets in a log line before it leaves the process, because `idf.py` echoes the
/// sdkconfig values it reads.
pub fn redact_line(line: &str, secret: &str) -> String {
    if secret.is_empty() { line.to_owned() } else { line.replace(secret, "…redacted") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_choice_debug_redacts() {
        let choice = TokenChoice::Existing { ota_token: "ulota_secret".to_owned() };
        assert!(!format!("{choice:?}").contains("secret"));
    }

    #[test]
    fn redact_line_hides_token() {
        assert_eq!(redact_line("token=ulota_x", "ulota_x"), "token=…redacted");
        assert_eq!(redact_line("plain", ""), "plain");
    }

    #[test]
    fn counts_keep_chip_keys() {
        let mut counts = StatusCounts { total: 3, available: 2, ..Default::default() };
        counts.available_by_chip.insert("esp32c3".to_owned(), 2);
        let converted = Counts::from(counts);
        assert_eq!(converted.available_by_chip, [ChipCount { chip: "esp32c3".to_owned(), available: 2 }]);
    }
}
