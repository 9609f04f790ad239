//! The embedded registry: one SQLite file in WAL mode.
//!
//! Writes take the write lock up front (`BEGIN IMMEDIATE`), so concurrent writers queue on
//! the busy timeout instead of failing halfway through a transaction. The connection runs
//! with `synchronous = NORMAL`: in WAL mode a committed transaction survives a crash of the
//! process, while a power loss may drop the last few commits but never corrupts the file.

mod audit;
mod lease;
mod rows;
mod schema;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use factory_core::{
    Assignment, DownloadId, HardwareMetadata, NodeId, OtaToken, Registration, RegistrationStatus,
    truncate_for_message,
};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use serde_json::json;
use sha2::{Digest, Sha256};

use self::rows::{
    FLASH_RECORD_COLUMNS, REGISTRATION_COLUMNS, flash_record_from_row, from_millis, registration_from_row,
    to_millis,
};
use crate::{
    AuditAction, AuditContext, AuditEntry, AuditQuery, DEFAULT_LEASE_SECONDS, FlashOutcome, FlashRecord,
    ListQuery, MintRequest, MintedRegistration, NewFlashRecord, PlannedNode, RegistrationPage, Registry,
    RegistryError, Reservation, ReserveRequest, SortDirection, SortKey, StatusCounts, check_event_time,
};

pub use self::schema::SCHEMA_VERSION;

/// How long an idempotency key replays its batch. A retry comes within minutes; a replay much
/// later would more likely hand out tokens of registrations that are in use by then.
pub const IDEMPOTENCY_KEY_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// How long a writer waits for another process's write to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often minting draws new identifiers after a unique-constraint collision. With 82 bits
/// per node ID a single collision is already unlikely, so running out means something else
/// is wrong.
const MAX_ID_ATTEMPTS: u32 = 8;

/// The SQL that ends a registration's lease, shared by every change that ends one.
const CLEAR_LEASE: &str = "lease_id = NULL, lease_holder = NULL, lease_expires_at = NULL";

/// A registry stored in one SQLite file.
///
/// Handles made with [`acting_as`](SqliteRegistry::acting_as) share the connection and
/// differ only in the actor the audit log records.
pub struct SqliteRegistry {
    shared: Arc<Shared>,
    context: AuditContext,
    default_lease_seconds: u32,
}

struct Shared {
    path: PathBuf,
    connection: Mutex<Connection>,
}

impl SqliteRegistry {
    /// Opens the file, creating it (owner-only) and its folder when missing, and applies any
    /// pending schema migrations. Changes are audited as the local OS user.
    pub fn open(path: &Path) -> Result<SqliteRegistry, RegistryError> {
        create_private_file(path)?;
        Self::open_file(path)
    }

    /// Opens a registry file that must already exist. Commands that only read use it, so a
    /// mistyped path fails instead of leaving a new, empty registry behind.
    pub fn open_existing(path: &Path) -> Result<SqliteRegistry, RegistryError> {
        if !path.is_file() {
            return Err(RegistryError::FileMissing { path: path.display().to_string() });
        }
        Self::open_file(path)
    }

    fn open_file(path: &Path) -> Result<SqliteRegistry, RegistryError> {
        let database_error = |source| RegistryError::Database { path: path.display().to_string(), source };
        let mut connection = Connection::open(path).map_err(database_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(database_error)?;
        connection.pragma_update(None, "journal_mode", "WAL").map_err(database_error)?;
        connection.pragma_update(None, "synchronous", "NORMAL").map_err(database_error)?;
        connection.pragma_update(None, "foreign_keys", "ON").map_err(database_error)?;

        if let Err(found) = schema::migrate(&mut connection).map_err(database_error)? {
            return Err(RegistryError::SchemaTooNew {
                path: path.display().to_string(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        Ok(SqliteRegistry {
            shared: Arc::new(Shared { path: path.to_owned(), connection: Mutex::new(connection) }),
            context: AuditContext::local_user(),
            default_lease_seconds: DEFAULT_LEASE_SECONDS,
        })
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Returns a handle on the same connection whose changes the audit log attributes to
    /// `context`. The registry server makes one per request.
    pub fn acting_as(&self, context: AuditContext) -> SqliteRegistry {
        SqliteRegistry {
            shared: Arc::clone(&self.shared),
            context,
            default_lease_seconds: self.default_lease_seconds,
        }
    }

    /// Issues a new download ID and calls `before_commit` with the old and the new one inside
    /// the transaction, so that a step that must happen with the rotation (the registry server
    /// moves the firmware folder) rolls the rotation back when it fails.
    pub fn rotate_download_id_then(
        &self,
        node_id: &NodeId,
        before_commit: impl FnOnce(&DownloadId, &DownloadId) -> Result<(), RegistryError>,
    ) -> Result<DownloadId, RegistryError> {
        let download_id = self.with_write(|transaction| {
            let old = self.get_in(transaction, node_id)?.download_id;
            let (_, download_id) = self.insert_with_fresh_ids(|_, download_id| {
                transaction.execute(
                    "UPDATE node_registrations SET download_id = ?1 WHERE node_id = ?2",
                    [download_id.as_str(), node_id.as_str()],
                )
            })?;
            self.audit(
                transaction,
                AuditAction::RotateDownloadId,
                Some(node_id),
                Some(json!({ "old": old, "new": download_id })),
            )?;
            before_commit(&old, &download_id)?;
            Ok(download_id)
        })?;
        tracing::info!(%node_id, %download_id, "rotated download ID");
        Ok(download_id)
    }

    /// Sets the lease length of reservations that ask for none.
    pub fn with_default_lease_seconds(mut self, seconds: u32) -> SqliteRegistry {
        self.default_lease_seconds = seconds;
        self
    }

    /// Runs `body` on the connection, for reads and writes of tables outside the trait, such
    /// as the registry server's operators. The connection is locked for the call.
    pub fn with_connection<T>(&self, body: impl FnOnce(&mut Connection) -> T) -> T {
        body(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held cannot leave the database half-written, because
        // an unfinished transaction rolls back when it is dropped.
        self.shared.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn database_error(&self, source: rusqlite::Error) -> RegistryError {
        RegistryError::Database { path: self.shared.path.display().to_string(), source }
    }

    /// Appends one audit entry inside the caller's transaction.
    fn audit(
        &self,
        transaction: &rusqlite::Transaction<'_>,
        action: AuditAction,
        node_id: Option<&NodeId>,
        detail: Option<serde_json::Value>,
    ) -> Result<(), RegistryError> {
        audit::insert(transaction, &self.context, action, node_id, detail)
            .map_err(|error| self.database_error(error))
    }

    fn with_write<T>(
        &self,
        body: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|error| self.database_error(error))?;
        let value = body(&transaction)?;
        transaction.commit().map_err(|error| self.database_error(error))?;
        Ok(value)
    }

    fn get_in(&self, connection: &Connection, node_id: &NodeId) -> Result<Registration, RegistryError> {
        let sql = format!("SELECT {REGISTRATION_COLUMNS} FROM node_registrations WHERE node_id = ?1");
        let mut statement = connection.prepare_cached(&sql).map_err(|error| self.database_error(error))?;
        let mut rows = statement.query([node_id.as_str()]).map_err(|error| self.database_error(error))?;
        match rows.next().map_err(|error| self.database_error(error))? {
            Some(row) => registration_from_row(row),
            None => Err(RegistryError::NotFound { node_id: node_id.clone() }),
        }
    }

    /// Runs an update of one registration, failing with `NotFound` when no row matched.
    fn update_one(
        &self,
        transaction: &rusqlite::Transaction<'_>,
        node_id: &NodeId,
        sql: &str,
        values: impl rusqlite::Params,
    ) -> Result<(), RegistryError> {
        let changed = transaction.execute(sql, values).map_err(|error| self.database_error(error))?;
        if changed == 0 {
            return Err(RegistryError::NotFound { node_id: node_id.clone() });
        }
        Ok(())
    }

    fn insert_batch(
        &self,
        transaction: &rusqlite::Transaction<'_>,
        request: &MintRequest,
        batch: Option<i64>,
    ) -> Result<Vec<MintedRegistration>, RegistryError> {
        let nodes = request.resolve()?;
        let created_at = now_millis();
        let mut statement = transaction
            .prepare_cached(
                "INSERT INTO node_registrations \
                 (node_id, download_id, ota_token_hash, hardware_metadata, target_chip, created_at, mint_batch, mint_position) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(|error| self.database_error(error))?;

        let batch_size = nodes.len();
        let mut minted = Vec::with_capacity(batch_size);
        for (position, PlannedNode { target_chip, metadata }) in nodes.into_iter().enumerate() {
            let ota_token = OtaToken::generate();
            let token_hash = ota_token.hash();
            let (node_id, download_id) = self.insert_with_fresh_ids(|node_id, download_id| {
                statement.execute(params![
                    node_id.as_str(),
                    download_id.as_str(),
                    token_hash.as_str(),
                    metadata.as_ref().map(HardwareMetadata::text),
                    target_chip.map(|chip| chip.idf_target()),
                    to_millis(created_at),
                    batch,
                    position as i64,
                ])
            })?;

            self.audit(
                transaction,
                AuditAction::Mint,
                Some(&node_id),
                Some(json!({ "position": position, "batch_size": batch_size })),
            )?;

            let registration = Registration {
                node_id,
                download_id,
                token_hash,
                hardware_metadata: metadata,
                target_chip,
                created_at,
                provisioned_at: None,
                assignment: None,
                has_legacy_token: false,
            };
            minted.push(MintedRegistration { registration, ota_token });
        }
        Ok(minted)
    }

    /// Calls `insert` with new random identifiers until it does not hit a unique constraint.
    fn insert_with_fresh_ids(
        &self,
        mut insert: impl FnMut(&NodeId, &DownloadId) -> rusqlite::Result<usize>,
    ) -> Result<(NodeId, DownloadId), RegistryError> {
        let mut attempt = 1;
        loop {
            let node_id = NodeId::generate();
            let download_id = DownloadId::generate();
            match insert(&node_id, &download_id) {
                Ok(_) => return Ok((node_id, download_id)),
                Err(error) if is_unique_violation(&error) && attempt < MAX_ID_ATTEMPTS => {
                    tracing::warn!(attempt, "identifier collision while minting; drawing new identifiers");
                    attempt += 1;
                }
                Err(error) => return Err(self.database_error(error)),
            }
        }
    }

    /// Answers a retried mint: the same registrations as the first time, each with a fresh
    /// token, because the plaintext of the first tokens was never stored. A batch of which any
    /// registration changed since it was minted is not replayed, because its tokens may be in
    /// use on a node by now.
    fn replay_batch(
        &self,
        transaction: &rusqlite::Transaction<'_>,
        key: &str,
        batch: i64,
    ) -> Result<Vec<MintedRegistration>, RegistryError> {
        let changed: Option<(String, String)> = transaction
            .query_row(
                "SELECT a.node_id, a.action FROM node_registrations r JOIN audit_log a ON a.node_id = r.node_id \
                 WHERE r.mint_batch = ?1 AND a.action NOT IN ('mint', 'mint_replay') ORDER BY a.id LIMIT 1",
                [batch],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|error| self.database_error(error))?;
        if let Some((node_id, action)) = changed {
            return Err(RegistryError::IdempotencyKeyRefused {
                key: truncate_for_message(key),
                reason: format!(
                    "registration {node_id} of its batch has changed since it was minted ({action}), so a replay would replace a token that may be in use; use a new key to mint a new batch"
                ),
            });
        }

        let sql = format!(
            "SELECT {REGISTRATION_COLUMNS} FROM node_registrations WHERE mint_batch = ?1 ORDER BY mint_position"
        );
        let registrations = query_registrations(transaction, &sql, [batch]).map_err(|error| match error {
            QueryError::Sql(source) => self.database_error(source),
            QueryError::Row(error) => error,
        })?;

        let mut update = transaction
            .prepare_cached("UPDATE node_registrations SET ota_token_hash = ?1 WHERE node_id = ?2")
            .map_err(|error| self.database_error(error))?;
        let mut minted = Vec::with_capacity(registrations.len());
        for mut registration in registrations {
            let ota_token = OtaToken::generate();
            registration.token_hash = ota_token.hash();
            update
                .execute([registration.token_hash.as_str(), registration.node_id.as_str()])
                .map_err(|error| self.database_error(error))?;
            self.audit(transaction, AuditAction::MintReplay, Some(&registration.node_id), None)?;
            minted.push(MintedRegistration { registration, ota_token });
        }
        Ok(minted)
    }

    /// Mints or replays the batch of an idempotency key of this handle's actor.
    fn mint_with_key(
        &self,
        transaction: &rusqlite::Transaction<'_>,
        request: &MintRequest,
        key: &str,
    ) -> Result<Vec<MintedRegistration>, RegistryError> {
        let fingerprint = request_fingerprint(request);
        let known: Option<(i64, String, i64)> = transaction
            .query_row(
                "SELECT id, fingerprint, created_at FROM mint_batches WHERE actor = ?1 AND idempotency_key = ?2",
                [self.context.actor.as_str(), key],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(|error| self.database_error(error))?;

        let Some((batch, known_fingerprint, created_at)) = known else {
            transaction
                .execute(
                    "INSERT INTO mint_batches (actor, idempotency_key, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![self.context.actor, key, fingerprint, to_millis(Utc::now())],
                )
                .map_err(|error| self.database_error(error))?;
            let batch = transaction.last_insert_rowid();
            return self.insert_batch(transaction, request, Some(batch));
        };

        let refused =
            |reason: String| RegistryError::IdempotencyKeyRefused { key: truncate_for_message(key), reason };
        let created_at = from_millis(created_at)?;
        if Utc::now() - created_at > IDEMPOTENCY_KEY_LIFETIME {
            return Err(refused(format!(
                "it expired {} hours after its batch was minted at {}; use a new key, and check with `list` whether the batch you meant to retry exists",
                IDEMPOTENCY_KEY_LIFETIME.num_hours(),
                created_at.to_rfc3339()
            )));
        }
        if known_fingerprint != fingerprint {
            return Err(refused(
                "it was used for a different mint request; use a new key for a new batch".to_owned(),
            ));
        }
        self.replay_batch(transaction, key, batch)
    }
}

impl Registry for SqliteRegistry {
    fn mint_batch(&self, request: &MintRequest) -> Result<Vec<MintedRegistration>, RegistryError> {
        request.resolve()?;
        self.with_write(|transaction| match request.idempotency_key.as_deref() {
            Some(key) => self.mint_with_key(transaction, request, key),
            None => self.insert_batch(transaction, request, None),
        })
    }

    fn list(&self, query: &ListQuery) -> Result<RegistrationPage, RegistryError> {
        query.validate()?;
        let filter = ListFilter::new(query);
        let connection = self.lock();

        let count_sql = format!("SELECT count(*) FROM node_registrations r WHERE {}", filter.where_sql);
        let total: i64 = connection
            .prepare_cached(&count_sql)
            .and_then(|mut statement| {
                statement.query_row(rusqlite::params_from_iter(filter.values.iter()), |row| row.get(0))
            })
            .map_err(|error| self.database_error(error))?;

        let items_sql = format!(
            "SELECT {REGISTRATION_COLUMNS} FROM node_registrations r WHERE {} ORDER BY {} LIMIT {} OFFSET {}",
            filter.where_sql,
            order_by(query.sort, query.direction),
            query.limit,
            query.offset,
        );
        let items =
            query_registrations(&connection, &items_sql, rusqlite::params_from_iter(filter.values.iter()))
                .map_err(|error| match error {
                    QueryError::Sql(source) => self.database_error(source),
                    QueryError::Row(error) => error,
                })?;

        Ok(RegistrationPage { items, total: total as u64 })
    }

    fn get(&self, node_id: &NodeId) -> Result<Registration, RegistryError> {
        let connection = self.lock();
        self.get_in(&connection, node_id)
    }

    fn get_by_download_id(&self, download_id: &DownloadId) -> Result<Registration, RegistryError> {
        let connection = self.lock();
        let sql = format!("SELECT {REGISTRATION_COLUMNS} FROM node_registrations WHERE download_id = ?1");
        let mut statement = connection.prepare_cached(&sql).map_err(|error| self.database_error(error))?;
        let mut rows = statement.query([download_id.as_str()]).map_err(|error| self.database_error(error))?;
        match rows.next().map_err(|error| self.database_error(error))? {
            Some(row) => registration_from_row(row),
            None => Err(RegistryError::DownloadIdNotFound { download_id: download_id.clone() }),
        }
    }

    fn counts(&self) -> Result<StatusCounts, RegistryError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT status, coalesce(target_chip, 'unspecified'), count(*) FROM node_registrations \
                 GROUP BY status, target_chip",
            )
            .map_err(|error| self.database_error(error))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
            })
            .map_err(|error| self.database_error(error))?;

        let mut counts = StatusCounts::default();
        for row in rows {
            let (status, chip, count) = row.map_err(|error| self.database_error(error))?;
            let count = count as u64;
            counts.total += count;
            match status.parse::<RegistrationStatus>() {
                Ok(RegistrationStatus::Available) => {
                    counts.available += count;
                    *counts.available_by_chip.entry(chip).or_default() += count;
                }
                Ok(RegistrationStatus::Assigned) => counts.assigned += count,
                Ok(RegistrationStatus::Provisioned) => counts.provisioned += count,
                Err(detail) => return Err(RegistryError::Corrupt { detail }),
            }
        }
        Ok(counts)
    }

    fn rotate_token(&self, node_id: &NodeId) -> Result<OtaToken, RegistryError> {
        let ota_token = OtaToken::generate();
        self.with_write(|transaction| {
            self.update_one(
                transaction,
                node_id,
                "UPDATE node_registrations SET ota_token_hash = ?1, legacy_ota_token = NULL WHERE node_id = ?2",
                [ota_token.hash().as_str(), node_id.as_str()],
            )?;
            self.audit(transaction, AuditAction::RotateToken, Some(node_id), None)
        })?;
        tracing::info!(%node_id, "rotated OTA token");
        Ok(ota_token)
    }

    fn rotate_download_id(&self, node_id: &NodeId) -> Result<DownloadId, RegistryError> {
        self.rotate_download_id_then(node_id, |_, _| Ok(()))
    }

    fn set_metadata(
        &self,
        node_id: &NodeId,
        metadata: Option<&HardwareMetadata>,
    ) -> Result<Registration, RegistryError> {
        self.with_write(|transaction| {
            let registration = self.get_in(transaction, node_id)?;
            let declared = metadata.map(HardwareMetadata::target).transpose()?.flatten();
            if let (Some(chip), Some(declared)) = (registration.target_chip, declared)
                && chip != declared
            {
                return Err(RegistryError::invalid(
                    "metadata",
                    format!(
                        "\"target\" is {declared} but registration {node_id} is for {chip}; make them agree"
                    ),
                ));
            }
            if let (Some(chip), Some(metadata)) = (registration.target_chip.or(declared), metadata) {
                metadata.check_pins_for(chip)?;
            }
            self.update_one(
                transaction,
                node_id,
                "UPDATE node_registrations SET hardware_metadata = ?1 WHERE node_id = ?2",
                params![metadata.map(HardwareMetadata::text), node_id.as_str()],
            )?;
            self.audit(
                transaction,
                AuditAction::SetMetadata,
                Some(node_id),
                Some(json!({ "cleared": metadata.is_none() })),
            )?;
            self.get_in(transaction, node_id)
        })
    }

    fn mark_provisioned(&self, node_id: &NodeId, at: DateTime<Utc>) -> Result<Registration, RegistryError> {
        self.with_write(|transaction| {
            let registration = self.get_in(transaction, node_id)?;
            check_event_time("at", at, registration.created_at, Utc::now())?;
            self.update_one(
                transaction,
                node_id,
                &format!(
                    "UPDATE node_registrations SET provisioned_at = ?1, {CLEAR_LEASE} WHERE node_id = ?2"
                ),
                params![to_millis(at), node_id.as_str()],
            )?;
            self.audit(transaction, AuditAction::MarkProvisioned, Some(node_id), None)?;
            self.get_in(transaction, node_id)
        })
    }

    fn consume_legacy_token(&self, node_id: &NodeId) -> Result<Option<OtaToken>, RegistryError> {
        self.with_write(|transaction| {
            let legacy: Option<String> = transaction
                .query_row("SELECT legacy_ota_token FROM node_registrations WHERE node_id = ?1", [node_id.as_str()], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(|error| self.database_error(error))?
                .ok_or_else(|| RegistryError::NotFound { node_id: node_id.clone() })?;
            let Some(legacy) = legacy else {
                return Ok(None);
            };

            let ota_token = OtaToken::from_legacy(&legacy).map_err(|_| RegistryError::Corrupt {
                detail: format!("the legacy token of {node_id} is empty or has spaces or control characters; rotate the token instead"),
            })?;
            self.update_one(
                transaction,
                node_id,
                "UPDATE node_registrations SET legacy_ota_token = NULL, ota_token_hash = ?1 WHERE node_id = ?2",
                [ota_token.hash().as_str(), node_id.as_str()],
            )?;
            self.audit(transaction, AuditAction::ConsumeLegacyToken, Some(node_id), None)?;
            Ok(Some(ota_token))
        })
    }

    fn record_flash(&self, record: &NewFlashRecord) -> Result<FlashRecord, RegistryError> {
        let regions = serde_json::to_string(&record.regions).expect("region digests always serialize");
        self.with_write(|transaction| {
            let registration = self.get_in(transaction, &record.node_id)?;
            check_event_time("attempted_at", record.attempted_at, registration.created_at, Utc::now())?;
            transaction
                .execute(
                    "INSERT INTO flash_records (node_id, attempted_at, port, bench_host, chip, chip_revision, mac, \
                     flash_size, regions, outcome, error_code, error_message) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        record.node_id.as_str(),
                        to_millis(record.attempted_at),
                        record.port,
                        record.bench_host,
                        record.chip.map(|chip| chip.idf_target()),
                        record.chip_revision,
                        record.mac,
                        record.flash_size.map(|size| size as i64),
                        regions,
                        record.outcome.as_str(),
                        record.error_code,
                        record.error_message,
                    ],
                )
                .map_err(|error| self.database_error(error))?;
            let id = transaction.last_insert_rowid();

            if record.outcome == FlashOutcome::Success {
                self.update_one(
                    transaction,
                    &record.node_id,
                    &format!("UPDATE node_registrations SET provisioned_at = ?1, {CLEAR_LEASE} WHERE node_id = ?2"),
                    params![to_millis(record.attempted_at), record.node_id.as_str()],
                )?;
            }
            self.audit(
                transaction,
                AuditAction::RecordFlash,
                Some(&record.node_id),
                Some(json!({
                    "flash_record_id": id,
                    "outcome": record.outcome,
                    "port": record.port,
                    "bench_host": record.bench_host,
                    "error_code": record.error_code,
                })),
            )?;
            let mut attempt = record.clone();
            attempt.attempted_at = from_millis(to_millis(record.attempted_at))?;
            Ok(FlashRecord { id, attempt })
        })
    }

    fn flash_history(&self, node_id: &NodeId) -> Result<Vec<FlashRecord>, RegistryError> {
        let connection = self.lock();
        self.get_in(&connection, node_id)?;
        let sql = format!(
            "SELECT {FLASH_RECORD_COLUMNS} FROM flash_records WHERE node_id = ?1 ORDER BY attempted_at DESC, id DESC"
        );
        let mut statement = connection.prepare_cached(&sql).map_err(|error| self.database_error(error))?;
        let mut rows = statement.query([node_id.as_str()]).map_err(|error| self.database_error(error))?;
        let mut records = Vec::new();
        while let Some(row) = rows.next().map_err(|error| self.database_error(error))? {
            records.push(flash_record_from_row(row)?);
        }
        Ok(records)
    }

    fn assign(&self, node_id: &NodeId, assignment: &Assignment) -> Result<Registration, RegistryError> {
        lease::validate_assignment(assignment)?;
        self.with_write(|transaction| {
            let registration = self.get_in(transaction, node_id)?;
            match &registration.assignment {
                Some(current) if current == assignment => return Ok(registration),
                Some(current) => {
                    return Err(RegistryError::Conflict {
                        what: format!("an assignment of registration {node_id}"),
                        detail: format!("it is assigned to {current}; unassign it first to move it"),
                    });
                }
                None => {}
            }

            self.update_one(
                transaction,
                node_id,
                &format!(
                    "UPDATE node_registrations SET house_slug = ?1, room_id = ?2, assigned_house_id = ?3, \
                     assigned_user_id = ?4, {CLEAR_LEASE} WHERE node_id = ?5"
                ),
                params![
                    assignment.house_slug,
                    assignment.room_id,
                    assignment.assigned_house_id,
                    assignment.assigned_user_id,
                    node_id.as_str()
                ],
            )?;
            self.audit(transaction, AuditAction::Assign, Some(node_id), Some(json!(assignment)))?;
            self.get_in(transaction, node_id)
        })
    }

    fn unassign(&self, node_id: &NodeId) -> Result<Registration, RegistryError> {
        self.with_write(|transaction| {
            let registration = self.get_in(transaction, node_id)?;
            let Some(previous) = registration.assignment else {
                return Ok(registration);
            };
            self.update_one(
                transaction,
                node_id,
                "UPDATE node_registrations SET house_slug = NULL, room_id = NULL, assigned_house_id = NULL, \
                 assigned_user_id = NULL WHERE node_id = ?1",
                [node_id.as_str()],
            )?;
            self.audit(
                transaction,
                AuditAction::Unassign,
                Some(node_id),
                Some(json!({ "previous": previous })),
            )?;
            self.get_in(transaction, node_id)
        })
    }

    fn reserve_next(&self, request: &ReserveRequest) -> Result<Reservation, RegistryError> {
        let lease_seconds = request.validate(self.default_lease_seconds)?;
        let reservation = self.with_write(|transaction| {
            let now = now_millis();
            let node_id = lease::find_reservable(transaction, request.target_chip, now)
                .map_err(|error| self.database_error(error))?
                .ok_or(RegistryError::NoneAvailable { chip: request.target_chip })?;

            let lease = lease::grant(transaction, &node_id, request.holder.trim(), now, lease_seconds)
                .map_err(|error| self.database_error(error))?;
            self.audit(
                transaction,
                AuditAction::Reserve,
                Some(&node_id),
                Some(json!({ "holder": lease.holder, "expires_at": lease.expires_at })),
            )?;
            let registration = self.get_in(transaction, &node_id)?;
            Ok(Reservation { registration, lease })
        })?;
        tracing::info!(
            node_id = %reservation.registration.node_id,
            holder = %reservation.lease.holder,
            "reserved registration"
        );
        Ok(reservation)
    }

    fn release_lease(&self, node_id: &NodeId, lease_id: &str) -> Result<(), RegistryError> {
        self.with_write(|transaction| {
            let released = transaction
                .execute(
                    &format!(
                        "UPDATE node_registrations SET {CLEAR_LEASE} \
                         WHERE node_id = ?1 AND lease_id = ?2 AND lease_expires_at > ?3"
                    ),
                    params![node_id.as_str(), lease_id, to_millis(now_millis())],
                )
                .map_err(|error| self.database_error(error))?;
            if released == 0 {
                self.get_in(transaction, node_id)?;
                return Err(RegistryError::LeaseNotHeld { node_id: node_id.clone() });
            }
            self.audit(transaction, AuditAction::Release, Some(node_id), None)
        })
    }

    fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, RegistryError> {
        query.validate()?;
        let connection = self.lock();
        audit::select(&connection, query).map_err(|error| match error {
            QueryError::Sql(source) => self.database_error(source),
            QueryError::Row(error) => error,
        })
    }
}

/// Returns the current time at the millisecond precision the database stores, so that a
/// returned record equals the one read back later.
fn now_millis() -> DateTime<Utc> {
    from_millis(to_millis(Utc::now())).expect("the current time is in range")
}

/// The SQL condition and its bound values for a list query.
struct ListFilter {
    where_sql: String,
    values: Vec<String>,
}

impl ListFilter {
    fn new(query: &ListQuery) -> ListFilter {
        let mut conditions = vec!["1".to_owned()];
        let mut values = Vec::new();

        if let Some(status) = query.status {
            values.push(status.as_str().to_owned());
            conditions.push(format!("r.status = ?{}", values.len()));
        }
        if let Some(chip) = query.target_chip {
            values.push(chip.idf_target().to_owned());
            conditions.push(format!("r.target_chip = ?{}", values.len()));
        }
        if let Some(search) = query.search.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            values.push(like_pattern(search));
            let n = values.len();
            conditions.push(format!(
                "(r.node_id LIKE ?{n} ESCAPE '\\' OR r.download_id LIKE ?{n} ESCAPE '\\' \
                 OR r.house_slug LIKE ?{n} ESCAPE '\\' \
                 OR EXISTS (SELECT 1 FROM flash_records f WHERE f.node_id = r.node_id \
                    AND (f.mac LIKE ?{n} ESCAPE '\\' OR replace(f.mac, ':', '') LIKE ?{n} ESCAPE '\\')))"
            ));
        }
        ListFilter { where_sql: conditions.join(" AND "), values }
    }
}

/// Turns free text into a `LIKE` pattern matching it anywhere, with `%`, `_` and `\` taken
/// literally.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

fn order_by(sort: SortKey, direction: SortDirection) -> String {
    let column = match sort {
        // Rows are inserted in creation order, so the row ID sorts like the creation time
        // and lets a status filter use the (status, id) index without sorting.
        SortKey::CreatedAt => "r.id",
        SortKey::NodeId => "r.node_id",
        SortKey::Status => "r.status",
        SortKey::TargetChip => "r.target_chip",
        SortKey::ProvisionedAt => "r.provisioned_at",
    };
    let direction = match direction {
        SortDirection::Ascending => "ASC",
        SortDirection::Descending => "DESC",
    };
    format!("{column} {direction}, r.id {direction}")
}

pub(crate) enum QueryError {
    Sql(rusqlite::Error),
    Row(RegistryError),
}

fn query_registrations(
    connection: &Connection,
    sql: &str,
    values: impl rusqlite::Params,
) -> Result<Vec<Registration>, QueryError> {
    let mut statement = connection.prepare_cached(sql).map_err(QueryError::Sql)?;
    let mut rows = statement.query(values).map_err(QueryError::Sql)?;
    let mut registrations = Vec::new();
    while let Some(row) = rows.next().map_err(QueryError::Sql)? {
        registrations.push(registration_from_row(row).map_err(QueryError::Row)?);
    }
    Ok(registrations)
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::ConstraintViolation
                && failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

/// Hashes everything in a mint request except its idempotency key, to tell a retry from a
/// different request that reuses the key.
fn request_fingerprint(request: &MintRequest) -> String {
    let without_key = MintRequest { idempotency_key: None, ..request.clone() };
    let json = serde_json::to_vec(&without_key).expect("mint requests always serialize");
    hex::encode(Sha256::digest(json))
}

/// Creates the database file with owner-only permissions before SQLite opens it, because it
/// holds token hashes and, for imported records, legacy plaintext tokens. SQLite gives the
/// WAL and shared-memory files the same permissions.
fn create_private_file(path: &Path) -> Result<(), RegistryError> {
    let io_error = |action: &'static str, source: std::io::Error| RegistryError::FileAccess {
        action,
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        return Ok(());
    }

    if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|error| io_error("create the folder of", error))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop).map_err(|error| io_error("create", error))
}
