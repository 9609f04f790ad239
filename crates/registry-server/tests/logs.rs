//! The server's log at debug level over a session of mints, rotations, downloads and failed
//! sign-ins: request IDs appear, and no OTA or operator token does.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use factory_core::{OperatorToken, OtaToken};
use registry::{MintRequest, NodeMetadata, Registry};
use reqwest::blocking::Client;

use common::TestServer;

/// A log destination that keeps everything written to it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn log_has_request_ids_and_no_tokens() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let firmware = tempfile::TempDir::new().unwrap();
    let firmware_dir = firmware.path().to_owned();
    let server = TestServer::start_with(move |config| config.firmware_dir = Some(firmware_dir));
    let technician = server.registry(&server.technician);
    let request =
        MintRequest { count: 3, target_chip: None, metadata: NodeMetadata::None, idempotency_key: None };
    let minted = technician.mint_batch(&request).unwrap();
    let rotated = server.registry(&server.support).rotate_token(&minted[0].registration.node_id).unwrap();
    let bad_operator = OperatorToken::generate();
    server.impatient_registry(&bad_operator).counts().unwrap_err();
    let new_operator =
        registry_server::operators_add(&server.database, "nina", registry_server::Role::Support).unwrap();

    let client = Client::new();
    let bad_ota = OtaToken::generate();
    let mut secrets: Vec<String> =
        minted.iter().map(|entry| entry.ota_token.expose_secret().to_owned()).collect();
    secrets.extend([rotated, bad_ota.clone()].iter().map(|token| token.expose_secret().to_owned()));
    secrets.extend(
        [&server.admin, &server.technician, &server.support, &bad_operator, &new_operator]
            .iter()
            .map(|token| token.expose_secret().to_owned()),
    );
    let mut request_ids = Vec::new();
    for token in [minted[1].ota_token.expose_secret(), bad_ota.expose_secret()] {
        let response = client
            .get(format!("{}/firmware/{}/manifest.json", server.url(), minted[1].registration.download_id))
            .bearer_auth(token)
            .send()
            .unwrap();
        request_ids.push(response.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    drop(server);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("request finished"), "the log has the request lines");
    for request_id in &request_ids {
        assert!(log.contains(request_id.as_str()), "request {request_id} is in the log");
    }
    for secret in &secrets {
        let body = &secret[secret.find('_').unwrap() + 1..];
        assert!(!log.contains(body), "a token reached the log");
    }
}
