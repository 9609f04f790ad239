//! The server process killed with SIGKILL in the middle of a 10,000-node batch: after a
//! restart the batch is entirely present or entirely absent, and the database is intact.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use factory_core::OperatorToken;
use registry::http::HttpOptions;
use registry::{HttpRegistry, MintRequest, NodeMetadata, Registry, SqliteRegistry};

/// A `registry-server serve` process and what it printed at start.
struct ServerProcess {
    child: Child,
    url: String,
    first_admin: Option<OperatorToken>,
}

fn start(database: &Path) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_registry-server"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database"])
        .arg(database)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut first_admin = None;
    let mut url = None;
    for line in lines.by_ref().take(5) {
        let line = line.unwrap();
        if let Some(address) = line.strip_prefix("registry server listening on ") {
            url = Some(address.to_owned());
            break;
        }
        if let Ok(token) = OperatorToken::parse(line.trim()) {
            first_admin = Some(token);
        }
    }
    // Keeps reading stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));

    ServerProcess { child, url: url.expect("the server printed its address"), first_admin }
}

fn client(url: &str, token: &OperatorToken) -> HttpRegistry {
    let options = HttpOptions { max_attempts: 1, ..HttpOptions::default() };
    HttpRegistry::with_options(url, token.clone(), options).unwrap()
}

fn integrity(database: &Path) -> String {
    rusqlite::Connection::open(database)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn sigkill_mid_batch_leaves_all_or_nothing() {
    let folder = tempfile::TempDir::new().unwrap();
    let database = folder.path().join("registry.sqlite3");

    let first = start(&database);
    let admin = first.first_admin.clone().expect("an empty database prints the first admin token");
    let mut server = first;
    let registry = client(&server.url, &admin);
    registry.mint_batch(&request(10)).unwrap();

    // Times one whole batch, then kills at fractions of that time after sending, so that
    // kills land at different points of the batch's transaction on any machine.
    let started = std::time::Instant::now();
    registry.mint_batch(&request(10_000)).unwrap();
    let whole_batch_ms = started.elapsed().as_millis() as u64;
    let mut expected_total = 10_010;

    for delay_ms in
        [0, whole_batch_ms / 4, whole_batch_ms / 2, whole_batch_ms * 3 / 4, whole_batch_ms * 9 / 10]
    {
        let url = server.url.clone();
        let token = admin.clone();
        let (sent, sending) = mpsc::channel();
        let minting = std::thread::spawn(move || {
            sent.send(()).unwrap();
            client(&url, &token).mint_batch(&request(10_000)).map(|minted| minted.len())
        });
        sending.recv().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let answer = minting.join().unwrap();

        assert_eq!(integrity(&database), "ok", "after a kill {delay_ms} ms into the batch");
        let total = SqliteRegistry::open(&database).unwrap().counts().unwrap().total;
        assert!(
            total == expected_total || total == expected_total + 10_000,
            "after a kill {delay_ms} ms into the batch, {total} registrations exist ({expected_total} before)"
        );
        if let Ok(count) = answer {
            assert_eq!(count, 10_000);
            assert_eq!(total, expected_total + 10_000, "an answered batch is stored");
        }
        let mint_audits: i64 = rusqlite::Connection::open(&database)
            .unwrap()
            .query_row("SELECT count(*) FROM audit_log WHERE action = 'mint'", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mint_audits as u64, total, "every stored registration has its audit entry and no other");
        eprintln!("delay {delay_ms} ms: total {total}, answered {}", answer.is_ok());
        expected_total = total;

        server = start(&database);
        assert!(server.first_admin.is_none(), "the first admin token is printed only once");
        assert_eq!(client(&server.url, &admin).counts().unwrap().total, total, "the restarted server serves");
    }

    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

fn request(count: u32) -> MintRequest {
    MintRequest { count, target_chip: None, metadata: NodeMetadata::None, idempotency_key: None }
}
