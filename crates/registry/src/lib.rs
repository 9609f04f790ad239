//! The registry of node registrations: the `Registry` trait, the types that cross it, the
//! embedded SQLite implementation and the HTTP client of the registry server.
//!
//! Everything above this crate (the workflows, the command line, the desktop app) talks to a
//! `dyn Registry` and never learns whether it is a local file or a remote server. The trait
//! is synchronous: SQLite and espflash both block, and async callers wrap calls in
//! `spawn_blocking`.

mod audit;
mod error;
pub mod http;
mod lease;
mod model;
mod open;
mod roles;
pub mod sqlite;
pub mod wire;

pub use audit::{AuditAction, AuditContext, AuditEntry, AuditQuery, MAX_AUDIT_LIMIT};
pub use error::RegistryError;
pub use http::HttpRegistry;
pub use lease::{DEFAULT_LEASE_SECONDS, Lease, MAX_LEASE_SECONDS, Reservation, ReserveRequest};
pub use model::{
    FlashOutcome, FlashRecord, ListQuery, MAX_CLOCK_SKEW, MAX_LIST_LIMIT, MAX_LIST_OFFSET, MAX_MINT_COUNT,
    MintRequest, MintedRegistration, NewFlashRecord, NodeMetadata, PlannedNode, RegionDigest,
    RegistrationPage, ServerInfo, SortDirection, SortKey, StatusCounts, check_event_time,
};
pub use open::open_registry;
pub use roles::{Permission, Role};
pub use sqlite::{IDEMPOTENCY_KEY_LIFETIME, SqliteRegistry};

use chrono::{DateTime, Utc};
use factory_core::{Assignment, DownloadId, HardwareMetadata, NodeId, OtaToken, Registration};

/// The operations the workflows need from a registry.
///
/// Every method is one atomic change: it either happens completely or not at all. Methods
/// that take a node ID fail with [`RegistryError::NotFound`] for an unknown one and never
/// create a registration on the fly. Every change is written to the audit log in the same
/// transaction, with the actor of the handle.
pub trait Registry: Send + Sync {
    /// Mints `request.count` new registrations in one all-or-nothing batch. The returned
    /// tokens are the only copy of the plaintext; the registry keeps their hashes.
    fn mint_batch(&self, request: &MintRequest) -> Result<Vec<MintedRegistration>, RegistryError>;

    /// Lists registrations matching the query, one page at a time.
    fn list(&self, query: &ListQuery) -> Result<RegistrationPage, RegistryError>;

    fn get(&self, node_id: &NodeId) -> Result<Registration, RegistryError>;

    /// Finds the registration whose current download ID this is. A rotated-away download ID
    /// fails with [`RegistryError::DownloadIdNotFound`].
    fn get_by_download_id(&self, download_id: &DownloadId) -> Result<Registration, RegistryError>;

    /// Counts registrations by status and target chip, for dashboards.
    fn counts(&self) -> Result<StatusCounts, RegistryError>;

    /// Replaces the OTA token with a new one and returns its plaintext. The old token stops
    /// working at once, and any legacy plaintext token is erased.
    fn rotate_token(&self, node_id: &NodeId) -> Result<OtaToken, RegistryError>;

    /// Issues a new download ID; the old one stops resolving.
    fn rotate_download_id(&self, node_id: &NodeId) -> Result<DownloadId, RegistryError>;

    /// Replaces (or with `None`, clears) the hardware metadata.
    fn set_metadata(
        &self,
        node_id: &NodeId,
        metadata: Option<&HardwareMetadata>,
    ) -> Result<Registration, RegistryError>;

    /// Sets the provisioning time and ends any lease on the registration. Marking an already
    /// provisioned registration again updates the time.
    fn mark_provisioned(&self, node_id: &NodeId, at: DateTime<Utc>) -> Result<Registration, RegistryError>;

    /// Takes the plaintext token that a record imported from an older system still carries,
    /// erases it from storage and makes its hash the registration's token hash. Returns
    /// `None` when the record has no legacy token.
    fn consume_legacy_token(&self, node_id: &NodeId) -> Result<Option<OtaToken>, RegistryError>;

    /// Records one flash attempt. A successful attempt also marks the registration
    /// provisioned at the attempt's time and ends its lease, in the same transaction.
    fn record_flash(&self, record: &NewFlashRecord) -> Result<FlashRecord, RegistryError>;

    /// The flash attempts of one registration, newest first.
    fn flash_history(&self, node_id: &NodeId) -> Result<Vec<FlashRecord>, RegistryError>;

    /// Records where a node went. At least one field of the assignment must be set. An
    /// already assigned registration fails with [`RegistryError::Conflict`] unless the
    /// assignment is the same; unassign it first to move it.
    fn assign(&self, node_id: &NodeId, assignment: &Assignment) -> Result<Registration, RegistryError>;

    /// Clears the assignment. Unassigning a registration that has none changes nothing.
    fn unassign(&self, node_id: &NodeId) -> Result<Registration, RegistryError>;

    /// Takes the oldest available registration for the chip that nobody holds a live lease
    /// on, and leases it to the requester. Fails with [`RegistryError::NoneAvailable`] when
    /// there is none. Two concurrent callers never get the same registration.
    fn reserve_next(&self, request: &ReserveRequest) -> Result<Reservation, RegistryError>;

    /// Ends a lease before it expires. Fails with [`RegistryError::LeaseNotHeld`] when the
    /// lease ID is not the registration's current, unexpired lease.
    fn release_lease(&self, node_id: &NodeId, lease_id: &str) -> Result<(), RegistryError>;

    /// Reads the audit log, newest first.
    fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, RegistryError>;

    /// Returns the facts of the registry server behind this registry, or `None` for a local
    /// file. Workflows take the public URL from it, and leave firmware folders to the server.
    fn server_info(&self) -> Result<Option<ServerInfo>, RegistryError> {
        Ok(None)
    }

    /// Checks that the operator of this registry may do everything in `needed`, so that a
    /// workflow fails before its first change rather than halfway. A local file grants
    /// everything.
    fn check_permissions(&self, needed: &[Permission]) -> Result<(), RegistryError> {
        let _ = needed;
        Ok(())
    }
}
