//! Conversions between SQLite rows and the registry's types.

use chrono::{DateTime, TimeZone, Utc};
use factory_core::{Assignment, Chip, HardwareMetadata, Registration, TokenHash};
use rusqlite::Row;

use crate::{FlashOutcome, FlashRecord, NewFlashRecord, RegionDigest, RegistryError};

/// The columns [`registration_from_row`] reads, in its order.
pub const REGISTRATION_COLUMNS: &str = "node_id, download_id, ota_token_hash, hardware_metadata, target_chip, \
     created_at, provisioned_at, house_slug, room_id, assigned_house_id, assigned_user_id, \
     legacy_ota_token IS NOT NULL";

/// The columns [`flash_record_from_row`] reads, in its order.
pub const FLASH_RECORD_COLUMNS: &str = "id, node_id, attempted_at, port, bench_host, chip, chip_revision, mac, \
     flash_size, regions, outcome, error_code, error_message";

/// Times are stored as Unix milliseconds: they sort as integers and load without parsing text.
pub fn to_millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub fn from_millis(millis: i64) -> Result<DateTime<Utc>, RegistryError> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| RegistryError::Corrupt { detail: format!("timestamp {millis} is out of range") })
}

pub fn registration_from_row(row: &Row<'_>) -> Result<Registration, RegistryError> {
    let node_id: String = column(row, 0)?;
    let download_id: String = column(row, 1)?;
    let token_hash: String = column(row, 2)?;
    let metadata: Option<String> = column(row, 3)?;
    let chip: Option<String> = column(row, 4)?;
    let provisioned_at: Option<i64> = column(row, 6)?;

    let assignment = Assignment {
        house_slug: column(row, 7)?,
        room_id: column(row, 8)?,
        assigned_house_id: column(row, 9)?,
        assigned_user_id: column(row, 10)?,
    };

    Ok(Registration {
        node_id: node_id.parse().map_err(corrupt)?,
        download_id: download_id.parse().map_err(corrupt)?,
        token_hash: TokenHash::parse(&token_hash).map_err(corrupt)?,
        hardware_metadata: metadata.as_deref().map(HardwareMetadata::from_stored),
        target_chip: parse_chip(chip)?,
        created_at: from_millis(column(row, 5)?)?,
        provisioned_at: provisioned_at.map(from_millis).transpose()?,
        assignment: assignment.non_empty(),
        has_legacy_token: column(row, 11)?,
    })
}

pub fn flash_record_from_row(row: &Row<'_>) -> Result<FlashRecord, RegistryError> {
    let node_id: String = column(row, 1)?;
    let regions: String = column(row, 9)?;
    let outcome: String = column(row, 10)?;
    let flash_size: Option<i64> = column(row, 8)?;

    let regions: Vec<RegionDigest> = serde_json::from_str(&regions)
        .map_err(|error| RegistryError::Corrupt { detail: format!("flash record regions: {error}") })?;
    let outcome = match outcome.as_str() {
        "success" => FlashOutcome::Success,
        _ => FlashOutcome::Failed,
    };

    Ok(FlashRecord {
        id: column(row, 0)?,
        attempt: NewFlashRecord {
            node_id: node_id.parse().map_err(corrupt)?,
            attempted_at: from_millis(column(row, 2)?)?,
            port: column(row, 3)?,
            bench_host: column(row, 4)?,
            chip: parse_chip(column(row, 5)?)?,
            chip_revision: column(row, 6)?,
            mac: column(row, 7)?,
            flash_size: flash_size.map(|size| size as u64),
            regions,
            outcome,
            error_code: column(row, 11)?,
            error_message: column(row, 12)?,
        },
    })
}

fn parse_chip(text: Option<String>) -> Result<Option<Chip>, RegistryError> {
    text.map(|text| text.parse::<Chip>().map_err(corrupt)).transpose()
}

fn column<T: rusqlite::types::FromSql>(row: &Row<'_>, index: usize) -> Result<T, RegistryError> {
    row.get(index).map_err(|error| RegistryError::Corrupt { detail: format!("column {index}: {error}") })
}

fn corrupt(error: impl std::fmt::Display) -> RegistryError {
    RegistryError::Corrupt { detail: error.to_string() }
}
