//! OTA downloads over a real socket: a good token gets the files, and every refusal (bad
//! token, no token, unknown, malformed or rotated download ID) looks exactly the same.

mod common;

use std::path::Path;

use factory_core::{Chip, DownloadId, OtaToken};
use registry::{MintRequest, NodeMetadata, Registry};
use reqwest::blocking::Client;

use common::TestServer;

fn publish(firmware_dir: &Path, download_id: &DownloadId, manifest: &str, image: &[u8]) {
    let folder = firmware_dir.join(download_id.as_str());
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("manifest.json"), manifest).unwrap();
    std::fs::write(folder.join("latest.bin"), image).unwrap();
}

/// Sends a GET with an optional bearer token and returns the status and body.
fn fetch(server: &TestServer, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = Client::new().get(format!("{}{path}", server.url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    (response.status().as_u16(), response.bytes().unwrap().to_vec())
}

fn start_with_firmware() -> (TestServer, std::path::PathBuf) {
    let firmware = tempfile::TempDir::new().unwrap().keep();
    let dir = firmware.clone();
    let server = TestServer::start_with(move |config| config.firmware_dir = Some(dir));
    (server, firmware)
}

#[test]
fn ota_good_token_gets_manifest_and_image() {
    let (server, firmware) = start_with_firmware();
    let minted = server.registry(&server.technician).mint_batch(&request(1, None)).unwrap().remove(0);
    let download_id = &minted.registration.download_id;
    publish(&firmware, download_id, r#"{"version":"1.2.3"}"#, &[0xe9, 1, 2, 3]);
    let token = minted.ota_token.expose_secret();

    let (status, body) = fetch(&server, &format!("/firmware/{download_id}/manifest.json"), Some(token));
    assert_eq!(status, 200);
    assert_eq!(body, br#"{"version":"1.2.3"}"#);

    let (status, body) = fetch(&server, &format!("/firmware/{download_id}/latest.bin"), Some(token));
    assert_eq!(status, 200);
    assert_eq!(body, [0xe9, 1, 2, 3]);
    std::fs::remove_dir_all(firmware).ok();
}

#[test]
fn ota_refusals_are_identical() {
    let (server, firmware) = start_with_firmware();
    let technician = server.registry(&server.technician);
    let mut minted = technician.mint_batch(&request(2, Some(Chip::Esp32c3))).unwrap();
    let other = minted.remove(1);
    let target = minted.remove(0);
    let old_download_id = target.registration.download_id.clone();
    publish(&firmware, &old_download_id, "{}", b"image");
    let good = target.ota_token.expose_secret().to_owned();

    let rotated_download_id =
        server.registry(&server.support).rotate_download_id(&target.registration.node_id).unwrap();
    publish(&firmware, &rotated_download_id, "{}", b"image");
    let (status, _) = fetch(&server, &format!("/firmware/{rotated_download_id}/manifest.json"), Some(&good));
    assert_eq!(status, 200, "the new download ID works with the token");

    let wrong_token = OtaToken::generate();
    let refusals = [
        (
            "wrong token",
            format!("/firmware/{rotated_download_id}/manifest.json"),
            Some(wrong_token.expose_secret().to_owned()),
        ),
        (
            "another node's token",
            format!("/firmware/{rotated_download_id}/manifest.json"),
            Some(other.ota_token.expose_secret().to_owned()),
        ),
        ("no token", format!("/firmware/{rotated_download_id}/manifest.json"), None),
        (
            "unknown download ID",
            format!("/firmware/{}/manifest.json", DownloadId::generate()),
            Some(good.clone()),
        ),
        ("rotated download ID", format!("/firmware/{old_download_id}/manifest.json"), Some(good.clone())),
        ("rotated download ID image", format!("/firmware/{old_download_id}/latest.bin"), Some(good.clone())),
        ("malformed download ID", "/firmware/not-a-download-id/manifest.json".to_owned(), Some(good.clone())),
        (
            "encoded traversal",
            "/firmware/..%2F..%2Fetc%2Fpasswd/manifest.json".to_owned(),
            Some(good.clone()),
        ),
    ];

    let mut answers = Vec::new();
    for (label, path, token) in &refusals {
        let (status, body) = fetch(&server, path, token.as_deref());
        assert_eq!(status, 404, "{label}");
        answers.push((label, body));
    }
    let (_, first_body) = &answers[0];
    let body: serde_json::Value = serde_json::from_slice(first_body).unwrap();
    assert_eq!(body["code"], "not_found");
    for (label, body) in &answers {
        assert_eq!(body, first_body, "{label} answers differently");
    }

    let new_token = server.registry(&server.support).rotate_token(&target.registration.node_id).unwrap();
    let (status, body) =
        fetch(&server, &format!("/firmware/{rotated_download_id}/manifest.json"), Some(&good));
    assert_eq!((status, &body), (404, first_body), "the rotated-away token is refused like the others");
    let (status, _) = fetch(
        &server,
        &format!("/firmware/{rotated_download_id}/manifest.json"),
        Some(new_token.expose_secret()),
    );
    assert_eq!(status, 200);
    std::fs::remove_dir_all(firmware).ok();
}

#[test]
fn ota_without_published_files_is_not_found() {
    let (server, firmware) = start_with_firmware();
    let minted = server.registry(&server.technician).mint_batch(&request(1, None)).unwrap().remove(0);

    let (status, body) = fetch(
        &server,
        &format!("/firmware/{}/manifest.json", minted.registration.download_id),
        Some(minted.ota_token.expose_secret()),
    );

    assert_eq!(status, 404);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "firmware_not_published");
    std::fs::remove_dir_all(firmware).ok();
}

#[test]
fn mint_replay_retires_first_tokens() {
    let (server, firmware) = start_with_firmware();
    let technician = server.registry(&server.technician);
    let keyed = MintRequest { idempotency_key: Some("replay-check-1".to_owned()), ..request(3, None) };

    let first = technician.mint_batch(&keyed).unwrap();
    let replay = technician.mint_batch(&keyed).unwrap();

    assert_eq!(technician.counts().unwrap().total, 3);
    for (old, new) in first.iter().zip(&replay) {
        assert_eq!(old.registration.node_id, new.registration.node_id);
        let download_id = &new.registration.download_id;
        publish(&firmware, download_id, "{}", b"image");
        let path = format!("/firmware/{download_id}/manifest.json");
        assert_eq!(
            fetch(&server, &path, Some(old.ota_token.expose_secret())).0,
            404,
            "the first token is retired"
        );
        assert_eq!(fetch(&server, &path, Some(new.ota_token.expose_secret())).0, 200);
    }
    std::fs::remove_dir_all(firmware).ok();
}

#[test]
fn legacy_node_creation_is_not_implemented() {
    let server = TestServer::start();
    let client = Client::new();
    for method in [reqwest::Method::GET, reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE]
    {
        let response = client
            .request(method.clone(), format!("{}/api/house/12/room/3/nodes", server.url()))
            .json(&serde_json::json!({"name": "kitchen"}))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 501, "{method}");
        let body: serde_json::Value = response.json().unwrap();
        assert_eq!(body["code"], "not_implemented", "{method}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("node-factory provision"), "{method}: {message}");
        assert!(message.contains("Bench"), "{method}: {message}");
    }
}

fn request(count: u32, chip: Option<Chip>) -> MintRequest {
    MintRequest { count, target_chip: chip, metadata: NodeMetadata::None, idempotency_key: None }
}

#[test]
fn rotation_moves_firmware_folder() {
    let (server, firmware) = start_with_firmware();
    let minted = server.registry(&server.technician).mint_batch(&request(1, None)).unwrap().remove(0);
    let old = minted.registration.download_id.clone();
    publish(&firmware, &old, r#"{"version":"2.0.0"}"#, &[0xe9, 9]);
    let token = minted.ota_token.expose_secret();

    let new = server.registry(&server.support).rotate_download_id(&minted.registration.node_id).unwrap();

    assert!(!firmware.join(old.as_str()).exists(), "the old folder is gone");
    let (status, body) = fetch(&server, &format!("/firmware/{new}/latest.bin"), Some(token));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, [0xe9, 9]);
    std::fs::remove_dir_all(firmware).ok();
}

#[test]
fn provisioning_creates_firmware_folder() {
    let (server, firmware) = start_with_firmware();
    let technician = server.registry(&server.technician);
    let minted = technician.mint_batch(&request(2, Some(Chip::Esp32c3))).unwrap();
    let (marked, flashed) = (&minted[0].registration, &minted[1].registration);

    technician.mark_provisioned(&marked.node_id, chrono::Utc::now()).unwrap();
    let mut record = contract_flash_record(&flashed.node_id);
    record.outcome = registry::FlashOutcome::Success;
    technician.record_flash(&record).unwrap();

    assert!(firmware.join(marked.download_id.as_str()).is_dir());
    assert!(firmware.join(flashed.download_id.as_str()).is_dir());
    std::fs::remove_dir_all(firmware).ok();
}

fn contract_flash_record(node_id: &factory_core::NodeId) -> registry::NewFlashRecord {
    registry::NewFlashRecord {
        node_id: node_id.clone(),
        attempted_at: chrono::Utc::now(),
        port: "/dev/ttyUSB0".to_owned(),
        bench_host: "bench-1".to_owned(),
        chip: Some(Chip::Esp32c3),
        chip_revision: None,
        mac: Some("aa:bb:cc:11:22:33".to_owned()),
        flash_size: Some(4 * 1024 * 1024),
        regions: Vec::new(),
        outcome: registry::FlashOutcome::Failed,
        error_code: None,
        error_message: None,
    }
}
