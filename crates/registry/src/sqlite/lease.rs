//! Leases on registrations, and the checks of an assignment.

use chrono::{DateTime, Duration, Utc};
use factory_core::{Assignment, Chip, NodeId};
use rusqlite::{OptionalExtension, Transaction, params};

use super::rows::to_millis;
use crate::{Lease, RegistryError};

/// The longest house slug, in characters.
const MAX_HOUSE_SLUG_LENGTH: usize = 100;

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

pub fn validate_assignment(assignment: &Assignment) -> Result<(), RegistryError> {
    if assignment.clone().non_empty().is_none() {
        return Err(RegistryError::invalid(
            "assignment",
            "it is empty; set at least one of house_slug, room_id, assigned_house_id and assigned_user_id",
        ));
    }
    if let Some(slug) = &assignment.house_slug {
        let valid = !slug.trim().is_empty()
            && slug.chars().count() <= MAX_HOUSE_SLUG_LENGTH
            && !slug.chars().any(char::is_control);
        if !valid {
            return Err(RegistryError::invalid(
                "house_slug",
                format!(
                    "{slug:?} is not a usable house slug; give 1 to {MAX_HOUSE_SLUG_LENGTH} characters without control characters"
                ),
            ));
        }
    }
    Ok(())
}
