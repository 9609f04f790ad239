//! The audit log: who changed which registration, when, and under which request.

use chrono::{DateTime, Utc};
use factory_core::NodeId;
use serde::{Deserialize, Serialize};

use crate::RegistryError;

/// The largest number of audit entries one query returns.
pub const MAX_AUDIT_LIMIT: u32 = 10_000;

/// Who is making changes through a registry handle, recorded with every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditContext {
    /// An operator name on the registry server, or `local:<OS user>` for the embedded registry.
    pub actor: String,
    /// The ID of the HTTP request that made the change, when there was one.
    pub request_id: Option<String>,
}

impl AuditContext {
    /// The context of the embedded registry: the OS user running this process, from `USER`,
    /// `LOGNAME` or `USERNAME` (`unknown` when none is set).
    pub fn local_user() -> AuditContext {
        let user = ["USER", "LOGNAME", "USERNAME"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        AuditContext { actor: format!("local:{user}"), request_id: None }
    }
}

/// The kinds of change the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Mint,
    /// A retried mint with a known idempotency key, which replaced the batch's tokens.
    MintReplay,
    RotateToken,
    RotateDownloadId,
    SetMetadata,
    MarkProvisioned,
    ConsumeLegacyToken,
    RecordFlash,
    Assign,
    Unassign,
    Reserve,
    Release,
    OperatorAdd,
    OperatorRevoke,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Mint => "mint",
            AuditAction::MintReplay => "mint_replay",
            AuditAction::RotateToken => "rotate_token",
            AuditAction::RotateDownloadId => "rotate_download_id",
            AuditAction::SetMetadata => "set_metadata",
            AuditAction::MarkProvisioned => "mark_provisioned",
            AuditAction::ConsumeLegacyToken => "consume_legacy_token",
            AuditAction::RecordFlash => "record_flash",
            AuditAction::Assign => "assign",
            AuditAction::Unassign => "unassign",
            AuditAction::Reserve => "reserve",
            AuditAction::Release => "release",
            AuditAction::OperatorAdd => "operator_add",
            AuditAction::OperatorRevoke => "operator_revoke",
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// An [`AuditAction`] name. It is kept as text so that entries written by a newer
    /// Node Factory still load.
    pub action: String,
    pub node_id: Option<NodeId>,
    pub request_id: Option<String>,
    /// Facts about the change, such as the new download ID or a flash outcome. Never a secret.
    pub detail: Option<serde_json::Value>,
}

/// Which audit entries to read: newest first, optionally for one node, one page at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub node_id: Option<NodeId>,
    /// Only entries older than this entry ID, to page backwards from the last page's end.
    pub before_id: Option<i64>,
    pub limit: u32,
}

impl AuditQuery {
    /// Checks the page size and the entry ID to page back from.
    pub fn validate(&self) -> Result<(), RegistryError> {
        if self.limit == 0 || self.limit > MAX_AUDIT_LIMIT {
            return Err(RegistryError::invalid(
                "limit",
                format!(
                    "{} is out of range; ask for 1 to {MAX_AUDIT_LIMIT} audit entries per page",
                    self.limit
                ),
            ));
        }
        if let Some(before_id) = self.before_id.filter(|id| *id < 1) {
            return Err(RegistryError::invalid(
                "before_id",
                format!("{before_id} is not an audit entry ID; give a positive ID from an earlier page"),
            ));
        }
        Ok(())
    }
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery { node_id: None, before_id: None, limit: 100 }
    }
}
