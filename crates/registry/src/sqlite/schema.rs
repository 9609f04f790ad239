//! The versioned schema of the SQLite registry.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Each migration runs in its
//! own transaction together with the version bump, so a crash never leaves a half-migrated
//! file. Migrations are only ever appended; an applied one is never edited.

use rusqlite::{Connection, TransactionBehavior};

/// The migrations in order; migration `n` brings the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: registrations and flash records.
    r#"
    CREATE TABLE node_registrations (
        id                INTEGER PRIMARY KEY,
        node_id           TEXT NOT NULL UNIQUE,
        download_id       TEXT NOT NULL UNIQUE,
        ota_token_hash    TEXT NOT NULL,
        hardware_metadata TEXT,
        target_chip       TEXT CHECK (target_chip IN ('esp32', 'esp32c3', 'esp32s3')),
        created_at        INTEGER NOT NULL,
        provisioned_at    INTEGER,
        house_slug        TEXT,
        room_id           INTEGER,
        assigned_house_id INTEGER,
        assigned_user_id  INTEGER,
        -- Only records imported from older systems carry a plaintext token here, and
        -- provisioning erases it on first use.
        legacy_ota_token  TEXT,
        mint_key          TEXT,
        mint_position     INTEGER,
        status            TEXT GENERATED ALWAYS AS (
            CASE
                WHEN house_slug IS NOT NULL OR room_id IS NOT NULL
                  OR assigned_house_id IS NOT NULL OR assigned_user_id IS NOT NULL THEN 'assigned'
                WHEN provisioned_at IS NOT NULL THEN 'provisioned'
                ELSE 'available'
            END
        ) VIRTUAL
    );
    CREATE INDEX node_registrations_status_chip ON node_registrations (status, target_chip, id);
    CREATE INDEX node_registrations_created ON node_registrations (created_at, id);
    CREATE UNIQUE INDEX node_registrations_mint ON node_registrations (mint_key, mint_position)
        WHERE mint_key IS NOT NULL;

    CREATE TABLE mint_requests (
        idempotency_key TEXT PRIMARY KEY,
        fingerprint     TEXT NOT NULL,
        created_at      INTEGER NOT NULL
    );

    CREATE TABLE flash_records (
        id             INTEGER PRIMARY KEY,
        node_id        TEXT NOT NULL REFERENCES node_registrations (node_id) ON UPDATE CASCADE,
        attempted_at   INTEGER NOT NULL,
        port           TEXT NOT NULL,
        bench_host     TEXT NOT NULL,
        chip           TEXT,
        chip_revision  TEXT,
        mac            TEXT,
        flash_size     INTEGER,
        regions        TEXT NOT NULL,
        outcome        TEXT NOT NULL CHECK (outcome IN ('success', 'failed')),
        error_code     TEXT,
        error_message  TEXT
    );
    CREATE INDEX flash_records_node ON flash_records (node_id, attempted_at);
    CREATE INDEX flash_records_mac ON flash_records (mac);
    "#,
    // 2: leases for reserving the next available registration, the audit log, and the
    // operators of the registry server.
    r#"
    ALTER TABLE node_registrations ADD COLUMN lease_id TEXT;
    ALTER TABLE node_registrations ADD COLUMN lease_holder TEXT;
    ALTER TABLE node_registrations ADD COLUMN lease_expires_at INTEGER;

    -- Listing by status in creation order. Some development databases got this index from an
    -- edited migration 1, hence IF NOT EXISTS.
    CREATE INDEX IF NOT EXISTS node_registrations_status ON node_registrations (status, id);

    CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        node_id     TEXT,
        request_id  TEXT,
        detail      TEXT
    );
    CREATE INDEX audit_log_node ON audit_log (node_id, id) WHERE node_id IS NOT NULL;

    CREATE TABLE operators (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        role        TEXT NOT NULL CHECK (role IN ('admin', 'technician', 'support')),
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER
    );
    -- A revoked operator's name may be given to a new operator, so only active names are unique.
    CREATE UNIQUE INDEX operators_active_name ON operators (name) WHERE revoked_at IS NULL;
    "#,
    // 3: idempotency keys belong to the actor who sent them, so one operator's key never
    // replays another's batch. Keys from before named no actor and can no longer be
    // replayed; the mint_key column stays, unused, because SQLite cannot drop a column that
    // an index used.
    r#"
    CREATE TABLE mint_batches (
        id              INTEGER PRIMARY KEY,
        actor           TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        UNIQUE (actor, idempotency_key)
    );
    ALTER TABLE node_registrations ADD COLUMN mint_batch INTEGER REFERENCES mint_batches (id);
    CREATE INDEX node_registrations_mint_batch ON node_registrations (mint_batch, mint_position)
        WHERE mint_batch IS NOT NULL;
    DROP INDEX node_registrations_mint;
    DROP TABLE mint_requests;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations the file has not seen yet. Returns the version found before, or an
/// error version when the file is newer than this build.
pub fn migrate(connection: &mut Connection) -> Result<Result<i64, i64>, rusqlite::Error> {
    let found: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Ok(Err(found));
    }

    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;

        // Another process may have migrated while this one waited for the write lock.
        let current: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if current > index as i64 {
            continue;
        }

        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", index as i64 + 1)?;
        transaction.commit()?;
    }
    Ok(Ok(found))
}
