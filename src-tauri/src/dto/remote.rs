//! The types of a shared registry that cross the IPC boundary: the connection status, the
//! operator's permissions, bench-card reservations and the audit log.

use registry::{AuditEntry, Role, ServerInfo};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::RegistrationRow;
use crate::error::CommandError;

/// An operator role on a registry server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Admin,
    Technician,
    Support,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> RoleName {
        match role {
            Role::Admin => RoleName::Admin,
            Role::Technician => RoleName::Technician,
            Role::Support => RoleName::Support,
        }
    }
}

/// The facts a registry server reported about itself and the operator whose token the app uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ServerSummary {
    /// The server's Node Factory version.
    pub version: String,
    /// The URL nodes download firmware from; manifest URLs written into firmware start with it.
    pub public_url: String,
    pub operator: String,
    pub role: RoleName,
    /// The largest batch one mint may ask for.
    pub max_batch: u32,
    /// The lease length, in seconds, of a bench card's reservation.
    pub default_lease_seconds: u32,
}

impl From<&ServerInfo> for ServerSummary {
    fn from(info: &ServerInfo) -> ServerSummary {
        ServerSummary {
            version: info.version.clone(),
            public_url: info.public_url.clone(),
            operator: info.operator.clone(),
            role: info.role.into(),
            max_batch: info.max_batch,
            default_lease_seconds: info.default_lease_seconds,
        }
    }
}

/// The state of the app's connection to its registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// A registry file on this computer; always usable.
    Local,
    /// A registry server that has not been checked since the settings changed.
    Checking,
    /// The server responded with the operator's facts.
    Online,
    /// The server could not be reached, timed out, failed, or presented an untrusted certificate.
    Unreachable,
    /// The server responded but rejected the app: no token, an unknown or revoked token, or
    /// too many failed sign-ins.
    Refused,
}

/// The reason the operator may not do each action, or `null` where the role allows it. Reasons
/// come from the registry's role table, in the sentence the server uses when it rejects a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActionPermissions {
    /// Flashing a build folder or an ELF, or a project with the minted token.
    pub flash: Option<String>,
    /// Flashing a project with a newly minted token.
    pub flash_rotating_token: Option<String>,
    /// Reserving the next available registration for a bench card.
    pub reserve: Option<String>,
    pub mint: Option<String>,
    pub rotate_token: Option<String>,
    pub rotate_download_id: Option<String>,
    /// Patching sdkconfig files with the minted token.
    pub patch_sdkconfig: Option<String>,
    /// Patching sdkconfig files with a newly minted token.
    pub patch_rotating_token: Option<String>,
    pub mark_provisioned: Option<String>,
}

/// The registry the app uses and whether it can be used now. Sent by `registry_status` and,
/// whenever it changes, as the `registry-status-changed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RegistryStatus {
    /// Counts the registry changes in Settings since the app started, so that views holding
    /// data of an earlier registry reload.
    pub generation: u32,
    pub remote: bool,
    /// The registry file's path or the server's URL.
    pub location: String,
    pub state: ConnectionState,
    /// The server's facts from the last successful check; kept while it is unreachable.
    pub server: Option<ServerSummary>,
    /// The reason the server is unreachable or rejected the app.
    pub error: Option<CommandError>,
    pub permissions: ActionPermissions,
}

/// A lease that keeps other benches from taking a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeaseView {
    /// The lease holder: this computer's host name and the card's port.
    pub holder: String,
    /// RFC 3339, in UTC, by the server's clock.
    pub expires_at: String,
    /// Seconds until the lease expires, by this computer's clock at the time of the reply.
    pub seconds_left: u32,
}

/// The registration a bench card offers, with its lease when it was reserved on a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CardClaim {
    pub registration: RegistrationRow,
    pub lease: Option<LeaseView>,
    /// Something the technician should know, such as a registration that is already provisioned.
    pub notice: Option<String>,
}

/// One change recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditRow {
    pub id: i64,
    /// RFC 3339, in UTC.
    pub at: String,
    /// The operator on a registry server, or `local:<OS user>` for a registry file.
    pub actor: String,
    /// Such as `mint`, `reserve`, `record_flash` or `rotate_token`.
    pub action: String,
    /// The server's request ID, which its log also holds.
    pub request_id: Option<String>,
    /// Facts about the change as JSON text, such as a flash outcome. Never a secret.
    pub detail_json: Option<String>,
}

impl From<&AuditEntry> for AuditRow {
    fn from(entry: &AuditEntry) -> AuditRow {
        AuditRow {
            id: entry.id,
            at: entry.at.to_rfc3339(),
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            request_id: entry.request_id.clone(),
            detail_json: entry.detail.as_ref().map(ToString::to_string),
        }
    }
}

/// One page of a registration's audit log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    /// The entry ID to pass to get the next, older page; `null` on the last page.
    pub next_before_id: Option<i64>,
}
