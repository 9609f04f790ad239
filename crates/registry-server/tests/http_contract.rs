//! The registry contract over HTTP: `HttpRegistry` against the real server on 127.0.0.1,
//! plus what only the HTTP path has (actors, request IDs and client errors).

mod common;
#[path = "../../registry/tests/contract/mod.rs"]
mod contract;

use std::net::TcpListener;

use factory_core::{Chip, OperatorToken};
use registry::http::HttpOptions;
use registry::{AuditQuery, HttpRegistry, Registry, open_registry};

use common::TestServer;

#[test]
fn http_registry_passes_contract() {
    let servers = std::cell::RefCell::new(Vec::new());
    contract::run_all(&|| {
        let server = TestServer::start();
        let registry = server.registry(&server.admin);
        servers.borrow_mut().push(server);
        Box::new(registry)
    });
}

#[test]
fn audit_names_operator_and_request() {
    let server = TestServer::start();
    let technician = server.registry(&server.technician);
    let node_id = contract::mint(&technician, 1, Some(Chip::Esp32)).remove(0).registration.node_id;
    server.registry(&server.support).rotate_token(&node_id).unwrap();

    let entries =
        technician.audit_log(&AuditQuery { node_id: Some(node_id.clone()), ..Default::default() }).unwrap();

    let actors: Vec<(&str, &str)> = entries.iter().map(|e| (e.action.as_str(), e.actor.as_str())).collect();
    assert_eq!(actors, [("rotate_token", "sue"), ("mint", "tom")]);
    assert!(entries.iter().all(|entry| entry.request_id.as_deref().is_some_and(|id| id.len() >= 16)));
    assert_ne!(entries[0].request_id, entries[1].request_id);
}

#[test]
fn idempotency_keys_are_per_operator() {
    let server = TestServer::start();
    let request =
        registry::MintRequest { idempotency_key: Some("shared-key".to_owned()), ..contract_request(2) };
    let technician = server.registry(&server.technician);
    let admin = server.registry(&server.admin);

    let first = technician.mint_batch(&request).unwrap();
    let other = admin.mint_batch(&request).unwrap();

    assert_ne!(first[0].registration.node_id, other[0].registration.node_id);
    assert_eq!(admin.counts().unwrap().total, 4);
    for entry in &first {
        let stored = admin.get(&entry.registration.node_id).unwrap();
        assert!(
            stored.token_hash.matches(entry.ota_token.expose_secret()),
            "another operator replayed nothing"
        );
    }

    admin.mark_provisioned(&first[0].registration.node_id, chrono::Utc::now()).unwrap();
    let error = technician.mint_batch(&request).unwrap_err();
    assert_eq!(error.code(), "conflict", "{error}");
    assert!(error.to_string().contains("shared-key"), "{error}");
}

#[test]
fn client_errors_are_distinct() {
    let server = TestServer::start();

    let unknown_token = server.impatient_registry(&OperatorToken::generate());
    assert_eq!(unknown_token.counts().unwrap_err().code(), "not_authorised");

    let support = server.registry(&server.support);
    let error = support.mint_batch(&contract_request(1)).unwrap_err();
    assert_eq!(error.code(), "forbidden", "{error}");
    assert!(error.to_string().contains("support"), "{error}");
    assert!(!error.to_string().contains("refused the operator token"), "{error}");

    assert_eq!(support.get(&contract::unknown_node_id()).unwrap_err().code(), "registration_not_found");

    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let options = HttpOptions {
        max_attempts: 2,
        initial_backoff: std::time::Duration::from_millis(10),
        ..HttpOptions::default()
    };
    let unreachable =
        HttpRegistry::with_options(&format!("http://{closed_port}"), server.admin.clone(), options).unwrap();
    let error = unreachable.counts().unwrap_err();
    assert_eq!(error.code(), "server_unreachable", "{error}");
    assert!(error.to_string().contains("check the URL"), "{error}");
}

#[test]
fn errors_never_show_operator_token() {
    let server = TestServer::start();
    let token = OperatorToken::generate();
    let error = server.impatient_registry(&token).counts().unwrap_err();
    for printed in [error.to_string(), format!("{error:?}")] {
        assert!(!printed.contains(token.expose_secret()), "{printed}");
    }
}

#[test]
fn open_registry_takes_path_or_url() {
    let server = TestServer::start();

    let remote = open_registry(&server.url(), Some(server.admin.clone())).unwrap();
    contract::mint(remote.as_ref(), 2, None);
    assert_eq!(remote.counts().unwrap().total, 2);

    let error = open_registry(&server.url(), None).err().expect("a URL needs a token");
    assert_eq!(error.code(), "not_authorised");

    let local_path = server.folder.path().join("local.sqlite3");
    let local = open_registry(local_path.to_str().unwrap(), None).unwrap();
    assert_eq!(local.counts().unwrap().total, 0);
    assert!(local_path.exists());
}

fn contract_request(count: u32) -> registry::MintRequest {
    registry::MintRequest {
        count,
        target_chip: None,
        metadata: registry::NodeMetadata::None,
        idempotency_key: None,
    }
}
