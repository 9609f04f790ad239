//! Lenient forms of the response types, for decoding what the server sends.
//!
//! `HardwareMetadata`'s own `Deserialize` validates, as it should for input from people. A
//! registration's stored metadata may predate those rules (records imported from older
//! tools), so the client loads it the way the SQLite registry does, without the checks.

use chrono::{DateTime, Utc};
use factory_core::{
    Assignment, Chip, DownloadId, HardwareMetadata, NodeId, OtaToken, Registration, TokenHash,
};
use serde::Deserialize;

use crate::{Lease, MintedRegistration, RegistrationPage, Reservation};

#[derive(Deserialize)]
pub struct WireRegistration {
    node_id: NodeId,
    download_id: DownloadId,
    token_hash: TokenHash,
    hardware_metadata: Option<serde_json::Value>,
    target_chip: Option<Chip>,
    created_at: DateTime<Utc>,
    provisioned_at: Option<DateTime<Utc>>,
    assignment: Option<Assignment>,
    has_legacy_token: bool,
}

impl From<WireRegistration> for Registration {
    fn from(wire: WireRegistration) -> Registration {
        Registration {
            node_id: wire.node_id,
            download_id: wire.download_id,
            token_hash: wire.token_hash,
            hardware_metadata: wire
                .hardware_metadata
                .map(|value| HardwareMetadata::from_stored(&value.to_string())),
            target_chip: wire.target_chip,
            created_at: wire.created_at,
            provisioned_at: wire.provisioned_at,
            assignment: wire.assignment.and_then(Assignment::non_empty),
            has_legacy_token: wire.has_legacy_token,
        }
    }
}

#[derive(Deserialize)]
pub struct WireMinted {
    registration: WireRegistration,
    ota_token: OtaToken,
}

#[derive(Deserialize)]
pub struct WireMintResponse {
    pub registrations: Vec<WireMinted>,
}

impl From<WireMinted> for MintedRegistration {
    fn from(wire: WireMinted) -> MintedRegistration {
        MintedRegistration { registration: wire.registration.into(), ota_token: wire.ota_token }
    }
}

#[derive(Deserialize)]
pub struct WirePage {
    items: Vec<WireRegistration>,
    total: u64,
}

impl From<WirePage> for RegistrationPage {
    fn from(wire: WirePage) -> RegistrationPage {
        RegistrationPage {
            items: wire.items.into_iter().map(Registration::from).collect(),
            total: wire.total,
        }
    }
}

#[derive(Deserialize)]
pub struct WireReservation {
    registration: WireRegistration,
    lease: Lease,
}

impl From<WireReservation> for Reservation {
    fn from(wire: WireReservation) -> Reservation {
        Reservation { registration: wire.registration.into(), lease: wire.lease }
    }
}
