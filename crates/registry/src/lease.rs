//! Reserving the next available registration for a bench, under a time-limited lease.

use chrono::{DateTime, Utc};
use factory_core::{Chip, Registration, truncate_for_message};
use serde::{Deserialize, Serialize};

use crate::RegistryError;

/// The lease a reservation gets when the request names none: ten minutes, enough to build
/// and flash one board.
pub const DEFAULT_LEASE_SECONDS: u32 = 600;

/// The longest lease one reservation may ask for: one day.
pub const MAX_LEASE_SECONDS: u32 = 86_400;

/// The longest holder name, in characters.
const MAX_HOLDER_LENGTH: usize = 200;

/// A bench's request for the next available registration of one chip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    pub target_chip: Chip,
    /// Who holds the lease, such as the bench's host name and port. Shown to other benches.
    pub holder: String,
    /// The lease length; `None` takes the registry's default.
    #[serde(default)]
    pub lease_seconds: Option<u32>,
}

impl ReserveRequest {
    /// Checks the holder and lease length, and returns the lease length to use.
    pub fn validate(&self, default_lease_seconds: u32) -> Result<u32, RegistryError> {
        let holder = self.holder.trim();
        if holder.is_empty()
            || holder.chars().count() > MAX_HOLDER_LENGTH
            || holder.chars().any(char::is_control)
        {
            return Err(RegistryError::invalid(
                "holder",
                format!(
                    "{:?} is not a usable holder name; give 1 to {MAX_HOLDER_LENGTH} characters without control characters, such as the bench's host name",
                    truncate_for_message(&self.holder)
                ),
            ));
        }

        let seconds = self.lease_seconds.unwrap_or(default_lease_seconds);
        if seconds == 0 || seconds > MAX_LEASE_SECONDS {
            return Err(RegistryError::invalid(
                "lease_seconds",
                format!("{seconds} is out of range; ask for a lease of 1 to {MAX_LEASE_SECONDS} seconds"),
            ));
        }
        Ok(seconds)
    }
}

/// A registration held for one bench until the lease expires, the registration is
/// provisioned, or the holder releases it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub registration: Registration,
    pub lease: Lease,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// A random ID that the holder presents to release the lease early.
    pub lease_id: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(holder: &str, lease_seconds: Option<u32>) -> ReserveRequest {
        ReserveRequest { target_chip: Chip::Esp32, holder: holder.to_owned(), lease_seconds }
    }

    #[test]
    fn validate_uses_default_lease() {
        assert_eq!(request("bench-1", None).validate(600).unwrap(), 600);
        assert_eq!(request("bench-1", Some(5)).validate(600).unwrap(), 5);
    }

    #[test]
    fn validate_rejects_bad_holders_and_leases() {
        for (holder, seconds, field) in [
            ("", None, "holder"),
            ("  ", None, "holder"),
            ("bench\n1", None, "holder"),
            ("bench-1", Some(0), "lease_seconds"),
            ("bench-1", Some(MAX_LEASE_SECONDS + 1), "lease_seconds"),
        ] {
            let error = request(holder, seconds).validate(600).unwrap_err();
            assert!(
                matches!(&error, RegistryError::InvalidInput { field: found, .. } if found == field),
                "{holder:?} {seconds:?}: {error}"
            );
        }
    }
}
