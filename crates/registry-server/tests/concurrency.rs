//! Many benches at once over real sockets: concurrent reservations never share a
//! registration, and a mint whose response was lost is not minted twice.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use factory_core::{Chip, NodeId};
use registry::{ListQuery, MintRequest, NodeMetadata, Registry, ReserveRequest};

use common::TestServer;

#[test]
fn fifty_concurrent_reservations_are_distinct() {
    let server = TestServer::start();
    let technician = server.registry(&server.technician);
    let request = MintRequest {
        count: 60,
        target_chip: Some(Chip::Esp32s3),
        metadata: NodeMetadata::None,
        idempotency_key: None,
    };
    technician.mint_batch(&request).unwrap();

    let barrier = Arc::new(Barrier::new(50));
    let threads: Vec<_> = (0..50)
        .map(|bench| {
            let registry = server.registry(&server.technician);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let request = ReserveRequest {
                    target_chip: Chip::Esp32s3,
                    holder: format!("bench-{bench}"),
                    lease_seconds: None,
                };
                registry.reserve_next(&request).unwrap()
            })
        })
        .collect();
    let reservations: Vec<_> = threads.into_iter().map(|thread| thread.join().unwrap()).collect();

    let node_ids: HashSet<&NodeId> = reservations.iter().map(|r| &r.registration.node_id).collect();
    assert_eq!(node_ids.len(), 50, "a registration went to two benches");
    let lease_ids: HashSet<&str> = reservations.iter().map(|r| r.lease.lease_id.as_str()).collect();
    assert_eq!(lease_ids.len(), 50);

    let reserve_audits = technician
        .audit_log(&registry::AuditQuery { limit: 1000, ..Default::default() })
        .unwrap()
        .into_iter()
        .filter(|entry| entry.action == "reserve")
        .count();
    assert_eq!(reserve_audits, 50);
}

/// Sends a mint request for 500 registrations over a raw socket and never reads the answer.
/// With `wait_for_commit` the socket stays open until the batch is stored, like a client that
/// timed out waiting for the body; otherwise it hangs up at once, and the server may or may
/// not get to mint.
fn send_and_abandon(server: &TestServer, key: &str, wait_for_commit: bool) {
    let body = r#"{"count": 500, "target_chip": "esp32c3"}"#;
    let mut stream = TcpStream::connect(server.address).unwrap();
    write!(
        stream,
        "POST /api/v1/registrations/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {}\r\n\r\n{body}",
        server.technician.expose_secret(),
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();

    if wait_for_commit {
        let registry = server.registry(&server.technician);
        let mut committed = 0;
        for _ in 0..400 {
            committed = registry.counts().unwrap().total;
            if committed == 500 {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        assert_eq!(committed, 500, "the first request stored its batch");
    }
    stream.shutdown(std::net::Shutdown::Both).ok();
}

/// Retries the abandoned mint through the client and checks that exactly one batch exists.
fn retry_and_check(server: &TestServer, key: &str) {
    let technician = server.registry(&server.technician);
    let retry = MintRequest {
        count: 500,
        target_chip: Some(Chip::Esp32c3),
        metadata: NodeMetadata::None,
        idempotency_key: Some(key.to_owned()),
    };
    let replayed = technician.mint_batch(&retry).unwrap();

    assert_eq!(replayed.len(), 500);
    assert_eq!(technician.counts().unwrap().total, 500, "the retry minted no second batch");
    let stored: HashSet<NodeId> = technician
        .list(&ListQuery::default())
        .unwrap()
        .items
        .into_iter()
        .map(|registration| registration.node_id)
        .collect();
    let returned: HashSet<NodeId> = replayed.iter().map(|entry| entry.registration.node_id.clone()).collect();
    assert_eq!(returned, stored);
    for entry in replayed.iter().take(20) {
        let registration = technician.get(&entry.registration.node_id).unwrap();
        assert!(
            registration.token_hash.matches(entry.ota_token.expose_secret()),
            "the retry's tokens are live"
        );
    }
}

#[test]
fn mint_with_unread_response_is_not_duplicated() {
    let server = TestServer::start();
    send_and_abandon(&server, "unread-response-1", true);
    retry_and_check(&server, "unread-response-1");
}

#[test]
fn mint_after_hang_up_is_not_duplicated() {
    let server = TestServer::start();
    send_and_abandon(&server, "hang-up-1", false);
    retry_and_check(&server, "hang-up-1");
}

#[test]
fn concurrent_mints_get_own_batches() {
    let server = TestServer::start();
    let technician = server.registry(&server.technician);

    let threads: Vec<_> = (0..4)
        .map(|_| {
            let registry = server.registry(&server.technician);
            std::thread::spawn(move || {
                let request = MintRequest {
                    count: 100,
                    target_chip: None,
                    metadata: NodeMetadata::None,
                    idempotency_key: None,
                };
                registry.mint_batch(&request).unwrap().len()
            })
        })
        .collect();
    let minted: usize = threads.into_iter().map(|thread| thread.join().unwrap()).sum();

    assert_eq!(minted, 400);
    assert_eq!(technician.counts().unwrap().total, 400);
}
