//! Leases on registrations, and the checks of an assignment.

use chrono::{DateTime, Duration, Utc};
use factory_core::{Assignment, Chip, CoreError, NodeId};
use rusqlite::{OptionalExtension, Transaction, params};

use super::rows::to_millis;
use crate::{Lease, RegistryError};

/// Finds the oldest available registration for `chip` without a live lease. The caller holds
/// the write lock (`BEGIN IMMEDIATE`), so no other writer can take the same row before the
/// lease is granted.
pub fn find_reservable(
    transaction: &Transaction<'_>,
    chip: Chip,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<NodeId>> {
    let node_id: Option<String> = transaction
        .prepare_cached(
            "SELECT node_id FROM node_registrations \
             WHERE status = 'available' AND target_chip = ?1 \
               AND (lease_expires_at IS NULL OR lease_expires_at <= ?2) \
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![chip.idf_target(), to_millis(now)], |row| row.get(0))
        .optional()?;
    Ok(node_id.and_then(|text| text.parse().ok()))
}

/// Writes a new lease on the registration and returns it.
pub fn grant(
    transaction: &Transaction<'_>,
    node_id: &NodeId,
    holder: &str,
    now: DateTime<Utc>,
    lease_seconds: u32,
) -> rusqlite::Result<Lease> {
    let lease = Lease {
        lease_id: uuid::Uuid::new_v4().simple().to_string(),
        holder: holder.to_owned(),
        expires_at: now + Duration::seconds(i64::from(lease_seconds)),
    };
    transaction.prepare_cached(
        "UPDATE node_registrations SET lease_id = ?1, lease_holder = ?2, lease_expires_at = ?3 WHERE node_id = ?4",
    )?
    .execute(params![lease.lease_id, lease.holder, to_millis(lease.expires_at), node_id.as_str()])?;
    Ok(lease)
}

/// Checks an assignment with the domain rules, naming the invalid field.
pub fn validate_assignment(assignment: &Assignment) -> Result<(), RegistryError> {
    assignment.validate().map_err(|error| match error {
        CoreError::InvalidAssignment { field, reason } => RegistryError::invalid(field, reason),
        other => other.into(),
    })
}
