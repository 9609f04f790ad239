//! Operators of the registry server: their names, roles and hashed API tokens.
//!
//! The table lives in the registry file. The functions at the bottom work on the file
//! directly, so the command line can manage operators whether or not a server runs.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use factory_core::{OperatorToken, TokenHash};
use registry::{AuditAction, AuditContext, SqliteRegistry};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::auth::{Operator, Role};

/// The name of the operator the first `serve` on an empty database creates.
pub const FIRST_ADMIN_NAME: &str = "admin";

/// The maximum length of an operator name, in characters.
const MAX_NAME_LENGTH: usize = 64;

/// How long a write waits for another writer, as the registry itself does.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// An operator as listed; the token hash stays in the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorInfo {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A failed operator change.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error(
        "invalid operator name {name:?}: use 1 to {MAX_NAME_LENGTH} letters, digits, '.', '_', '-' or '@'"
    )]
    InvalidName { name: String },

    #[error("an active operator is already named {name}; revoke it first or pick another name")]
    NameTaken { name: String },

    #[error("no active operator is named {name}; `operators list` shows the active operators")]
    NotFound { name: String },

    #[error(
        "{name} is the last active admin, and without one nobody can manage operators; add another admin first, then revoke {name}"
    )]
    LastAdmin { name: String },

    #[error("registry database failed: {0}")]
    Database(#[from] rusqlite::Error),
}

/// Operator reads and writes on a connection of their own, so that token checks do not queue
/// behind registry writes on the registry's connection.
pub struct OperatorStore {
    connection: Mutex<Connection>,
}

impl OperatorStore {
    /// Opens the operators of a registry file that [`SqliteRegistry::open`] has migrated.
    pub fn open(database: &Path) -> anyhow::Result<OperatorStore> {
        let connection = Connection::open(database)
            .with_context(|| format!("cannot open the registry database {}", database.display()))?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        Ok(OperatorStore { connection: Mutex::new(connection) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Finds the active operator with this token. The lookup is by the token's SHA-256, so
    /// the plaintext never reaches the database, and a timing difference could only reveal
    /// digest prefixes, which do not help to forge a 256-bit token.
    pub fn authenticate(&self, token: &OperatorToken) -> Result<Option<Operator>, OperatorError> {
        let connection = self.lock();
        let found: Option<(String, String)> = connection
            .prepare_cached("SELECT name, role FROM operators WHERE token_hash = ?1 AND revoked_at IS NULL")?
            .query_row([token.hash().as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        Ok(found.and_then(|(name, role)| Some(Operator { name, role: role.parse().ok()? })))
    }

    pub fn add(&self, actor: &AuditContext, name: &str, role: Role) -> Result<OperatorToken, OperatorError> {
        validate_name(name)?;
        let token = OperatorToken::generate();
        let mut connection = self.lock();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert(&transaction, name, role, &token.hash()).map_err(|error| match error {
            rusqlite::Error::SqliteFailure(failure, _)
                if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                OperatorError::NameTaken { name: name.to_owned() }
            }
            other => OperatorError::Database(other),
        })?;
        audit(&transaction, actor, AuditAction::OperatorAdd, name, Some(role))?;
        transaction.commit()?;
        tracing::info!(operator = name, %role, "added operator");
        Ok(token)
    }

    /// Revokes an active operator. The last active admin is never revoked, so that someone
    /// can always manage operators through the API.
    pub fn revoke(&self, actor: &AuditContext, name: &str) -> Result<(), OperatorError> {
        let mut connection = self.lock();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let role: Option<String> = transaction
            .query_row("SELECT role FROM operators WHERE name = ?1 AND revoked_at IS NULL", [name], |row| {
                row.get(0)
            })
            .optional()?;
        if role.as_deref() == Some(Role::Admin.as_str()) {
            let admins: i64 = transaction.query_row(
                "SELECT count(*) FROM operators WHERE role = 'admin' AND revoked_at IS NULL",
                [],
                |row| row.get(0),
            )?;
            if admins <= 1 {
                return Err(OperatorError::LastAdmin { name: name.to_owned() });
            }
        }
        let changed = transaction.execute(
            "UPDATE operators SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL",
            params![Utc::now().timestamp_millis(), name],
        )?;
        if changed == 0 {
            return Err(OperatorError::NotFound { name: name.to_owned() });
        }
        audit(&transaction, actor, AuditAction::OperatorRevoke, name, None)?;
        transaction.commit()?;
        tracing::info!(operator = name, "revoked operator");
        Ok(())
    }

    /// Lists the active operators, by name.
    pub fn list(&self) -> Result<Vec<OperatorInfo>, OperatorError> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT name, role, created_at FROM operators WHERE revoked_at IS NULL ORDER BY name",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
        })?;
        let mut operators = Vec::new();
        for row in rows {
            let (name, role, created_at) = row?;
            let (Ok(role), Some(created_at)) = (role.parse(), DateTime::from_timestamp_millis(created_at))
            else {
                continue;
            };
            operators.push(OperatorInfo { name, role, created_at });
        }
        Ok(operators)
    }

    /// Creates the first admin when the database has never had an operator, and returns its
    /// token. Checking and inserting in one write transaction keeps two servers starting on
    /// the same file from both creating one.
    pub fn create_first_admin(&self) -> Result<Option<OperatorToken>, OperatorError> {
        let mut connection = self.lock();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: i64 = transaction.query_row("SELECT count(*) FROM operators", [], |row| row.get(0))?;
        if existing > 0 {
            return Ok(None);
        }
        let token = OperatorToken::generate();
        insert(&transaction, FIRST_ADMIN_NAME, Role::Admin, &token.hash())?;
        let actor = AuditContext { actor: "server:first-start".to_owned(), request_id: None };
        audit(&transaction, &actor, AuditAction::OperatorAdd, FIRST_ADMIN_NAME, Some(Role::Admin))?;
        transaction.commit()?;
        Ok(Some(token))
    }
}

fn validate_name(name: &str) -> Result<(), OperatorError> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_LENGTH
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid { Ok(()) } else { Err(OperatorError::InvalidName { name: name.to_owned() }) }
}

fn insert(
    transaction: &rusqlite::Transaction<'_>,
    name: &str,
    role: Role,
    hash: &TokenHash,
) -> rusqlite::Result<()> {
    transaction.execute(
        "INSERT INTO operators (name, role, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, role.as_str(), hash.as_str(), Utc::now().timestamp_millis()],
    )?;
    Ok(())
}

/// Records an operator change in the registry's audit log, in the change's transaction.
fn audit(
    transaction: &rusqlite::Transaction<'_>,
    actor: &AuditContext,
    action: AuditAction,
    name: &str,
    role: Option<Role>,
) -> rusqlite::Result<()> {
    let detail = serde_json::json!({ "operator": name, "role": role });
    transaction.execute(
        "INSERT INTO audit_log (at, actor, action, node_id, request_id, detail) VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
        params![Utc::now().timestamp_millis(), actor.actor, action.as_str(), actor.request_id, detail.to_string()],
    )?;
    Ok(())
}

/// Opens the registry file (creating and migrating it when needed) and its operators.
fn open_store(database: &Path) -> anyhow::Result<OperatorStore> {
    SqliteRegistry::open(database)?;
    OperatorStore::open(database)
}

/// Adds an operator to the registry file and returns its token, the only copy of the
/// plaintext. The change is audited as the local OS user.
pub fn operators_add(database: &Path, name: &str, role: Role) -> anyhow::Result<OperatorToken> {
    Ok(open_store(database)?.add(&AuditContext::local_user(), name, role)?)
}

/// Revokes the active operator with this name; its token stops working at once.
pub fn operators_revoke(database: &Path, name: &str) -> anyhow::Result<()> {
    Ok(open_store(database)?.revoke(&AuditContext::local_user(), name)?)
}

/// Lists the active operators of the registry file.
pub fn operators_list(database: &Path) -> anyhow::Result<Vec<OperatorInfo>> {
    Ok(open_store(database)?.list()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_add_list_revoke() {
        let folder = tempfile::TempDir::new().unwrap();
        let database = folder.path().join("registry.sqlite3");

        let token = operators_add(&database, "alice", Role::Technician).unwrap();
        operators_add(&database, "bob", Role::Support).unwrap();

        let names: Vec<_> =
            operators_list(&database).unwrap().into_iter().map(|o| (o.name, o.role)).collect();
        assert_eq!(names, [("alice".to_owned(), Role::Technician), ("bob".to_owned(), Role::Support)]);
        let store = OperatorStore::open(&database).unwrap();
        assert_eq!(store.authenticate(&token).unwrap().map(|o| o.name).as_deref(), Some("alice"));

        operators_revoke(&database, "alice").unwrap();
        assert_eq!(store.authenticate(&token).unwrap(), None);
        assert_eq!(operators_list(&database).unwrap().len(), 1);
        let renewed = operators_add(&database, "alice", Role::Admin).unwrap();
        assert_eq!(store.authenticate(&renewed).unwrap().map(|o| o.role), Some(Role::Admin));
    }

    #[test]
    fn operators_reject_duplicates_bad_names_and_unknown() {
        let folder = tempfile::TempDir::new().unwrap();
        let database = folder.path().join("registry.sqlite3");
        operators_add(&database, "alice", Role::Admin).unwrap();

        let duplicate = operators_add(&database, "alice", Role::Admin).unwrap_err();
        assert!(duplicate.to_string().contains("already named alice"), "{duplicate}");
        for name in ["", "has space", "../etc", &"x".repeat(65)] {
            assert!(operators_add(&database, name, Role::Admin).is_err(), "{name:?}");
        }
        let unknown = operators_revoke(&database, "nobody").unwrap_err();
        assert!(unknown.to_string().contains("no active operator"), "{unknown}");
    }

    #[test]
    fn last_admin_is_not_revoked() {
        let folder = tempfile::TempDir::new().unwrap();
        let database = folder.path().join("registry.sqlite3");
        operators_add(&database, "ada", Role::Admin).unwrap();
        operators_add(&database, "tom", Role::Technician).unwrap();

        let error = operators_revoke(&database, "ada").unwrap_err();
        assert!(error.to_string().contains("last active admin"), "{error}");
        assert_eq!(operators_list(&database).unwrap().len(), 2);

        operators_add(&database, "bea", Role::Admin).unwrap();
        operators_revoke(&database, "ada").unwrap();
        assert!(operators_revoke(&database, "bea").is_err(), "bea is now the last admin");
        operators_revoke(&database, "tom").unwrap();
    }

    #[test]
    fn first_admin_only_on_empty_database() {
        let folder = tempfile::TempDir::new().unwrap();
        let database = folder.path().join("registry.sqlite3");
        let store = open_store(&database).unwrap();

        let token = store.create_first_admin().unwrap().expect("a first admin");
        assert_eq!(store.authenticate(&token).unwrap().map(|o| o.role), Some(Role::Admin));
        assert!(store.create_first_admin().unwrap().is_none());
    }

    #[test]
    fn operator_tokens_are_stored_hashed() {
        let folder = tempfile::TempDir::new().unwrap();
        let database = folder.path().join("registry.sqlite3");
        let token = operators_add(&database, "alice", Role::Admin).unwrap();

        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(folder.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let secret = token.expose_secret().as_bytes();
        assert!(!bytes.windows(secret.len()).any(|window| window == secret));
    }
}
