//! The SQLite registry on real temporary files: the contract checks, batch atomicity,
//! concurrency and what the file contains.

mod contract;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use factory_core::{Chip, NodeId, TokenHash};
use registry::{ListQuery, MintRequest, NodeMetadata, Registry, SqliteRegistry};
use rusqlite::Connection;
use tempfile::TempDir;

fn database_in(folder: &TempDir) -> PathBuf {
    folder.path().join("registry.sqlite3")
}

#[test]
fn sqlite_passes_contract() {
    let folder = TempDir::new().unwrap();
    let counter = std::cell::Cell::new(0);
    contract::run_all(&|| {
        counter.set(counter.get() + 1);
        let path = folder.path().join(format!("contract-{}.sqlite3", counter.get()));
        Box::new(SqliteRegistry::open(&path).unwrap())
    });
}

#[test]
fn mint_ten_thousand_in_one_batch() {
    let folder = TempDir::new().unwrap();
    let registry = SqliteRegistry::open(&database_in(&folder)).unwrap();

    let minted = contract::mint(&registry, 10_000, Some(Chip::Esp32s3));

    let node_ids: HashSet<_> = minted.iter().map(|entry| entry.registration.node_id.clone()).collect();
    let download_ids: HashSet<_> =
        minted.iter().map(|entry| entry.registration.download_id.clone()).collect();
    assert_eq!(node_ids.len(), 10_000);
    assert_eq!(download_ids.len(), 10_000);
    assert_eq!(registry.counts().unwrap().available_by_chip.get("esp32s3"), Some(&10_000));
}

#[test]
fn failure_mid_batch_leaves_no_rows() {
    let folder = TempDir::new().unwrap();
    let path = database_in(&folder);
    let registry = SqliteRegistry::open(&path).unwrap();
    contract::mint(&registry, 10, None);

    // A trigger makes the 5,000th insert of the next batch fail, the way a full disk or an I/O
    // error would half-way through.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER fail_mid_batch BEFORE INSERT ON node_registrations \
             WHEN (SELECT count(*) FROM node_registrations) >= 5010 \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    let request =
        MintRequest { count: 10_000, target_chip: None, metadata: NodeMetadata::None, idempotency_key: None };

    let error = registry.mint_batch(&request).unwrap_err();

    assert!(error.to_string().contains("injected failure"), "{error}");
    assert_eq!(registry.counts().unwrap().total, 10);
    assert_eq!(row_count(&path), 10);
}

#[test]
fn four_threads_minting_get_distinct_ids() {
    let folder = TempDir::new().unwrap();
    let path = Arc::new(database_in(&folder));
    SqliteRegistry::open(&path).unwrap();

    let threads: Vec<_> = (0..4)
        .map(|_| {
            let path = Arc::clone(&path);
            std::thread::spawn(move || {
                let registry = SqliteRegistry::open(&path).unwrap();
                (0..10)
                    .flat_map(|_| contract::mint(&registry, 250, None))
                    .map(|entry| entry.registration.node_id)
                    .collect::<Vec<NodeId>>()
            })
        })
        .collect();
    let all: Vec<NodeId> = threads.into_iter().flat_map(|thread| thread.join().unwrap()).collect();

    assert_eq!(all.len(), 10_000);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 10_000);
    assert_eq!(row_count(&path), 10_000);
}

#[test]
fn database_bytes_never_contain_plaintext_tokens() {
    let folder = TempDir::new().unwrap();
    let path = database_in(&folder);
    let registry = SqliteRegistry::open(&path).unwrap();

    let mut tokens: Vec<String> = contract::mint(&registry, 200, None)
        .into_iter()
        .map(|entry| entry.ota_token.expose_secret().to_owned())
        .collect();
    let first_page = registry.list(&ListQuery { limit: 5, ..Default::default() }).unwrap();
    let rotated: Vec<String> = first_page
        .items
        .iter()
        .map(|registration| registry.rotate_token(&registration.node_id).unwrap().expose_secret().to_owned())
        .collect();
    tokens.extend(rotated.iter().cloned());

    let mut stored = Vec::new();
    for entry in std::fs::read_dir(folder.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for token in &rotated {
        assert!(
            contains(&stored, TokenHash::of(token).as_str().as_bytes()),
            "the current token hash is stored"
        );
    }
    for token in &tokens {
        assert!(!contains(&stored, token.as_bytes()), "a plaintext token is in the database files");
    }
}

#[test]
fn legacy_token_is_consumed_once() {
    let folder = TempDir::new().unwrap();
    let path = database_in(&folder);
    let registry = SqliteRegistry::open(&path).unwrap();
    let node_id = contract::mint(&registry, 1, None).remove(0).registration.node_id;
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE node_registrations SET legacy_ota_token = 'old-plain-token-42' WHERE node_id = ?1",
            [node_id.as_str()],
        )
        .unwrap();
    assert!(registry.get(&node_id).unwrap().has_legacy_token);

    let token = registry.consume_legacy_token(&node_id).unwrap().expect("a legacy token");

    assert_eq!(token.expose_secret(), "old-plain-token-42");
    let stored = registry.get(&node_id).unwrap();
    assert!(!stored.has_legacy_token);
    assert!(stored.token_hash.matches("old-plain-token-42"));
    assert_eq!(registry.consume_legacy_token(&node_id).unwrap(), None);
}

#[test]
fn database_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let folder = TempDir::new().unwrap();
    let path = folder.path().join("nested/folder/registry.sqlite3");
    SqliteRegistry::open(&path).unwrap();

    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn newer_schema_is_rejected() {
    let folder = TempDir::new().unwrap();
    let path = database_in(&folder);
    SqliteRegistry::open(&path).unwrap();
    Connection::open(&path).unwrap().pragma_update(None, "user_version", 999).unwrap();

    let error = SqliteRegistry::open(&path).err().expect("a newer schema fails to open");

    assert_eq!(error.code(), "schema_too_new");
    assert!(error.to_string().contains("update Node Factory"), "{error}");
}

fn row_count(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM node_registrations", [], |row| row.get(0))
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn audit_names_local_user_and_handle_actor() {
    let folder = TempDir::new().unwrap();
    let registry = SqliteRegistry::open(&database_in(&folder)).unwrap();
    let node_id = contract::mint(&registry, 1, None).remove(0).registration.node_id;

    let context = registry::AuditContext { actor: "alice".to_owned(), request_id: Some("req-42".to_owned()) };
    registry.acting_as(context).rotate_token(&node_id).unwrap();

    let entries = registry.audit_log(&registry::AuditQuery::default()).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].actor, "alice");
    assert_eq!(entries[0].request_id.as_deref(), Some("req-42"));
    assert!(entries[1].actor.starts_with("local:"), "{}", entries[1].actor);
    assert_eq!(entries[1].request_id, None);
}

#[test]
fn reserve_from_many_threads_never_shares() {
    let folder = TempDir::new().unwrap();
    let path = Arc::new(database_in(&folder));
    contract::mint(&SqliteRegistry::open(&path).unwrap(), 40, Some(Chip::Esp32));

    // Each thread opens its own connection, as separate processes would.
    let threads: Vec<_> = (0..8)
        .map(|bench| {
            let path = Arc::clone(&path);
            std::thread::spawn(move || {
                let registry = SqliteRegistry::open(&path).unwrap();
                (0..5)
                    .map(|_| {
                        registry
                            .reserve_next(&contract::reserve_request(Chip::Esp32, bench, None))
                            .unwrap()
                            .registration
                            .node_id
                    })
                    .collect::<Vec<NodeId>>()
            })
        })
        .collect();
    let all: Vec<NodeId> = threads.into_iter().flat_map(|thread| thread.join().unwrap()).collect();

    assert_eq!(all.len(), 40);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 40);
}

fn keyed_request(key: &str) -> registry::MintRequest {
    registry::MintRequest {
        count: 2,
        target_chip: Some(Chip::Esp32),
        metadata: registry::NodeMetadata::None,
        idempotency_key: Some(key.to_owned()),
    }
}

fn acting(registry: &SqliteRegistry, actor: &str) -> SqliteRegistry {
    registry.acting_as(registry::AuditContext { actor: actor.to_owned(), request_id: None })
}

#[test]
fn idempotency_keys_belong_to_actor() {
    let folder = TempDir::new().unwrap();
    let registry = SqliteRegistry::open(&database_in(&folder)).unwrap();
    let alice = acting(&registry, "alice");
    let mallory = acting(&registry, "mallory");

    let first = alice.mint_batch(&keyed_request("batch-1")).unwrap();
    let other = mallory.mint_batch(&keyed_request("batch-1")).unwrap();
    let replay = alice.mint_batch(&keyed_request("batch-1")).unwrap();

    let ids = |minted: &[registry::MintedRegistration]| -> Vec<NodeId> {
        minted.iter().map(|entry| entry.registration.node_id.clone()).collect()
    };
    assert_ne!(ids(&other), ids(&first), "another actor's key mints a batch of its own");
    assert_eq!(ids(&replay), ids(&first));
    assert_eq!(row_count(&database_in(&folder)), 4);
    for entry in &first {
        let stored = registry.get(&entry.registration.node_id).unwrap();
        assert!(!stored.token_hash.matches(entry.ota_token.expose_secret()), "only alice's replay re-minted");
    }
}

#[test]
fn idempotency_key_expires_after_a_day() {
    let folder = TempDir::new().unwrap();
    let path = database_in(&folder);
    let registry = SqliteRegistry::open(&path).unwrap();
    let minted = registry.mint_batch(&keyed_request("old-batch")).unwrap();
    let day_ago = chrono::Utc::now() - registry::IDEMPOTENCY_KEY_LIFETIME - chrono::TimeDelta::minutes(1);
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE mint_batches SET created_at = ?1", [day_ago.timestamp_millis()])
        .unwrap();

    let error = registry.mint_batch(&keyed_request("old-batch")).unwrap_err();

    assert_eq!(error.code(), "conflict", "{error}");
    assert!(error.to_string().contains("expired"), "{error}");
    let stored = registry.get(&minted[0].registration.node_id).unwrap();
    assert!(stored.token_hash.matches(minted[0].ota_token.expose_secret()), "the tokens stay");
    assert_eq!(row_count(&path), 2);
}

#[test]
fn schema_two_file_migrates_mint_keys() {
    let folder = TempDir::new().unwrap();
    let path = database_in(&folder);
    let registry = SqliteRegistry::open(&path).unwrap();
    let minted = registry.mint_batch(&keyed_request("kept-batch")).unwrap();
    drop(registry);

    // Rebuild the version-2 layout for the same rows, then let the migration run again.
    let connection = Connection::open(&path).unwrap();
    connection
        .execute_batch(
            "CREATE TABLE mint_requests (idempotency_key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, created_at INTEGER NOT NULL); \
             CREATE UNIQUE INDEX node_registrations_mint ON node_registrations (mint_key, mint_position) WHERE mint_key IS NOT NULL; \
             DROP INDEX node_registrations_mint_batch; \
             UPDATE node_registrations SET mint_batch = NULL; \
             ALTER TABLE node_registrations DROP COLUMN mint_batch; \
             DROP TABLE mint_batches; \
             PRAGMA user_version = 2;",
        )
        .unwrap();
    drop(connection);

    let reopened = SqliteRegistry::open(&path).unwrap();
    let again = reopened.mint_batch(&keyed_request("kept-batch")).unwrap();
    assert_ne!(
        again[0].registration.node_id, minted[0].registration.node_id,
        "unscoped old keys do not replay"
    );
    assert_eq!(row_count(&path), 4);
}

#[test]
fn failed_rotation_step_rolls_back() {
    let folder = TempDir::new().unwrap();
    let registry = SqliteRegistry::open(&database_in(&folder)).unwrap();
    let minted = contract::mint(&registry, 1, None).remove(0).registration;

    let error = registry
        .rotate_download_id_then(&minted.node_id, |_, _| {
            Err(registry::RegistryError::FirmwareMoveFailed {
                from: "a".to_owned(),
                to: "b".to_owned(),
                detail: "refused".to_owned(),
            })
        })
        .unwrap_err();

    assert_eq!(error.code(), "firmware_move_failed");
    assert_eq!(registry.get(&minted.node_id).unwrap().download_id, minted.download_id);
    let actions: Vec<String> = registry
        .audit_log(&registry::AuditQuery::default())
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(actions, ["mint"], "the audit entry rolled back too");
}
