//! The registry server commands end to end: `operators add`, `serve`, then `generate` and
//! `audit` against the server's URL with the operator token from the environment.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_node-factory");

fn run(args: &[&str], token: Option<&str>) -> Output {
    let mut command = Command::new(BINARY);
    command.args(args).env_remove("NODE_FACTORY_TOKEN").env_remove("NODE_FACTORY_REGISTRY");
    if let Some(token) = token {
        command.env("NODE_FACTORY_TOKEN", token);
    }
    command.output().unwrap()
}

#[test]
fn serve_operators_and_audit_over_url() {
    let folder = tempfile::TempDir::new().unwrap();
    let database = folder.path().join("registry.sqlite3");
    let database = database.to_str().unwrap();

    let added = run(&["--registry", database, "operators", "add", "alice", "--role", "technician"], None);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let stdout = String::from_utf8(added.stdout).unwrap();
    let token =
        stdout.lines().find(|line| line.starts_with("ulop_")).expect("the token is printed").to_owned();

    let listed = run(&["--registry", database, "operators", "list"], None);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("alice\ttechnician"));

    let mut server = Command::new(BINARY)
        .args(["--registry", database, "serve", "--bind", "127.0.0.1:0"])
        .env_remove("NODE_FACTORY_BIND")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .take(5)
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("registry server listening on ").map(str::to_owned))
        .expect("the server prints its address");

    let generated = run(&["--registry", &url, "generate", "2", "--target", "esp32c3"], Some(&token));
    let audit = run(&["--registry", &url, "audit", "--limit", "10"], Some(&token));
    let without_token = run(&["--registry", &url, "list"], None);
    server.kill().unwrap();
    server.wait().unwrap();

    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let minted: serde_json::Value = serde_json::from_slice(&generated.stdout).unwrap();
    assert_eq!(minted.as_array().map(Vec::len), Some(2), "{minted}");

    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stderr));
    let audit = String::from_utf8(audit.stdout).unwrap();
    assert_eq!(
        audit.lines().filter(|line| line.contains(" mint ") && line.contains("alice")).count(),
        2,
        "{audit}"
    );

    assert_eq!(without_token.status.code(), Some(2), "a missing token is a setting to fix");
    assert!(String::from_utf8_lossy(&without_token.stderr).contains("operator token"));

    let by_file = run(&["--registry", database, "audit", "--limit", "10"], None);
    assert!(String::from_utf8_lossy(&by_file.stdout).contains("operator_add"), "the file has the same log");
}

#[test]
fn operator_token_messages() {
    let url = "http://127.0.0.1:9";
    let missing = run(&["--registry", url, "list"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("set NODE_FACTORY_TOKEN to your operator token")
    );

    let bogus = run(&["--registry", url, "list"], Some("ulop_bogus"));
    assert_eq!(bogus.status.code(), Some(2));
    let message = String::from_utf8_lossy(&bogus.stderr);
    assert!(message.contains("wrong length"), "{message}");
    assert!(!message.contains("should start with"), "{message}");

    let folder = tempfile::TempDir::new().unwrap();
    let database = folder.path().join("registry.sqlite3");
    let bad_name = run(
        &["--registry", database.to_str().unwrap(), "operators", "add", "bad name", "--role", "support"],
        None,
    );
    assert_eq!(bad_name.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad_name.stderr));

    let added =
        run(&["--registry", database.to_str().unwrap(), "operators", "add", "ada", "--role", "admin"], None);
    assert!(
        String::from_utf8_lossy(&added.stdout).trim().starts_with("ulop_"),
        "only the token is on stdout"
    );
    assert!(String::from_utf8_lossy(&added.stderr).contains("Added operator ada"));
    let last_admin = run(&["--registry", database.to_str().unwrap(), "operators", "revoke", "ada"], None);
    assert!(!last_admin.status.success());
    assert!(String::from_utf8_lossy(&last_admin.stderr).contains("last active admin"));
}
