//! Behaviour every `Registry` implementation must show. Each check takes a fresh, empty
//! registry, so the same checks run against the SQLite file and the HTTP client.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use factory_core::{Assignment, Chip, DownloadId, HardwareMetadata, NodeId, RegistrationStatus};
use registry::{
    AuditQuery, FlashOutcome, ListQuery, MintRequest, NewFlashRecord, NodeMetadata, RegionDigest, Registry,
    RegistryError, ReserveRequest, SortDirection, SortKey,
};

pub fn mint(registry: &dyn Registry, count: u32, chip: Option<Chip>) -> Vec<registry::MintedRegistration> {
    let request =
        MintRequest { count, target_chip: chip, metadata: NodeMetadata::None, idempotency_key: None };
    registry.mint_batch(&request).expect("minting succeeds")
}

pub fn unknown_node_id() -> NodeId {
    "zzzzzzzzzzzzzzzz".parse().unwrap()
}

pub fn mint_returns_tokens_matching_hashes(registry: &dyn Registry) {
    let minted = mint(registry, 5, Some(Chip::Esp32c3));

    assert_eq!(minted.len(), 5);
    for entry in &minted {
        let stored = registry.get(&entry.registration.node_id).unwrap();
        assert_eq!(stored, entry.registration);
        assert!(stored.token_hash.matches(entry.ota_token.expose_secret()));
        assert_eq!(stored.status(), RegistrationStatus::Available);
        assert_eq!(stored.target_chip, Some(Chip::Esp32c3));
    }
}

pub fn mint_keeps_metadata_per_node(registry: &dyn Registry) {
    let first =
        HardwareMetadata::parse(r#"{"target":"esp32s3","strips":[{"index":0,"gpio":4}],"note":"a \"q\""}"#)
            .unwrap();
    let second = HardwareMetadata::parse(r#"{"note":"second"}"#).unwrap();
    let request = MintRequest {
        count: 2,
        target_chip: None,
        metadata: NodeMetadata::PerNode(vec![first.clone(), second.clone()]),
        idempotency_key: None,
    };

    let minted = registry.mint_batch(&request).unwrap();

    let stored: Vec<_> =
        minted.iter().map(|entry| registry.get(&entry.registration.node_id).unwrap()).collect();
    assert_eq!(stored[0].hardware_metadata.as_ref().map(|m| m.text()), Some(first.text()));
    assert_eq!(stored[0].target_chip, Some(Chip::Esp32s3));
    assert_eq!(stored[1].hardware_metadata.as_ref().map(|m| m.text()), Some(second.text()));
    assert_eq!(stored[1].target_chip, None);
}

pub fn mint_rejects_bad_counts(registry: &dyn Registry) {
    for count in [0, registry::MAX_MINT_COUNT + 1] {
        let request =
            MintRequest { count, target_chip: None, metadata: NodeMetadata::None, idempotency_key: None };
        let error = registry.mint_batch(&request).unwrap_err();
        assert_eq!(error.code(), "invalid_input", "count {count}: {error}");
    }
    assert_eq!(registry.counts().unwrap().total, 0);
}

pub fn mint_with_same_key_replays_batch(registry: &dyn Registry) {
    let request = MintRequest {
        count: 3,
        target_chip: Some(Chip::Esp32),
        metadata: NodeMetadata::None,
        idempotency_key: Some("batch-2026-12-04-a".to_owned()),
    };

    let first = registry.mint_batch(&request).unwrap();
    let retry = registry.mint_batch(&request).unwrap();

    let first_ids: Vec<_> = first.iter().map(|entry| entry.registration.node_id.clone()).collect();
    let retry_ids: Vec<_> = retry.iter().map(|entry| entry.registration.node_id.clone()).collect();
    assert_eq!(first_ids, retry_ids);
    assert_eq!(registry.counts().unwrap().total, 3);
    for (old, new) in first.iter().zip(&retry) {
        let stored = registry.get(&new.registration.node_id).unwrap();
        assert!(stored.token_hash.matches(new.ota_token.expose_secret()));
        assert!(!stored.token_hash.matches(old.ota_token.expose_secret()));
    }

    let different = MintRequest { count: 4, ..request };
    let error = registry.mint_batch(&different).unwrap_err();
    assert_eq!(error.code(), "conflict", "{error}");
    assert!(error.to_string().contains("different mint request"), "{error}");
}

pub fn mint_replay_refused_after_change(registry: &dyn Registry) {
    type Change = fn(&dyn Registry, &NodeId);
    // The reservation comes first, so that the oldest available registration it takes is the
    // first of its own batch.
    let changes: [(&str, Change); 7] = [
        ("reserved", |registry, _| {
            drop(registry.reserve_next(&reserve_request(Chip::Esp32, 1, None)).unwrap())
        }),
        ("provisioned", |registry, node_id| drop(registry.mark_provisioned(node_id, Utc::now()).unwrap())),
        ("assigned", |registry, node_id| {
            drop(registry.assign(node_id, &house_assignment("maple-12")).unwrap())
        }),
        ("flashed", |registry, node_id| {
            drop(registry.record_flash(&flash_record(node_id, FlashOutcome::Failed)).unwrap())
        }),
        ("token rotated", |registry, node_id| drop(registry.rotate_token(node_id).unwrap())),
        ("download ID rotated", |registry, node_id| drop(registry.rotate_download_id(node_id).unwrap())),
        ("metadata changed", |registry, node_id| {
            let metadata = HardwareMetadata::parse(r#"{"note":"changed"}"#).unwrap();
            drop(registry.set_metadata(node_id, Some(&metadata)).unwrap())
        }),
    ];

    for (index, (label, change)) in changes.into_iter().enumerate() {
        let request = MintRequest {
            count: 2,
            target_chip: Some(Chip::Esp32),
            metadata: NodeMetadata::None,
            idempotency_key: Some(format!("replay-after-change-{index}")),
        };
        let minted = registry.mint_batch(&request).unwrap();
        let changed = &minted[0].registration.node_id;
        change(registry, changed);
        let token_hash_before = registry.get(&minted[1].registration.node_id).unwrap().token_hash;

        let error = registry.mint_batch(&request).unwrap_err();

        assert_eq!(error.code(), "conflict", "{label}: {error}");
        assert!(error.to_string().contains("changed since it was minted"), "{label}: {error}");
        assert!(error.to_string().contains(changed.as_str()), "{label}: {error}");
        assert_eq!(
            registry.get(&minted[1].registration.node_id).unwrap().token_hash,
            token_hash_before,
            "{label}: the refused replay changed no token"
        );
    }
}

pub fn list_filters_sorts_and_pages(registry: &dyn Registry) {
    let c3 = mint(registry, 4, Some(Chip::Esp32c3));
    mint(registry, 3, Some(Chip::Esp32s3));
    registry.mark_provisioned(&c3[0].registration.node_id, Utc::now()).unwrap();

    let available = registry
        .list(&ListQuery { status: Some(RegistrationStatus::Available), ..Default::default() })
        .unwrap();
    assert_eq!(available.total, 6);
    assert!(available.items.iter().all(|r| r.status() == RegistrationStatus::Available));

    let provisioned = registry
        .list(&ListQuery { status: Some(RegistrationStatus::Provisioned), ..Default::default() })
        .unwrap();
    assert_eq!(provisioned.items.len(), 1);
    assert_eq!(provisioned.items[0].node_id, c3[0].registration.node_id);

    let s3_available = registry
        .list(&ListQuery {
            status: Some(RegistrationStatus::Available),
            target_chip: Some(Chip::Esp32s3),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(s3_available.total, 3);

    let mut pages = Vec::new();
    for offset in [0, 3, 6] {
        let page = registry
            .list(&ListQuery { sort: SortKey::NodeId, offset, limit: 3, ..Default::default() })
            .unwrap();
        assert_eq!(page.total, 7);
        pages.extend(page.items.into_iter().map(|r| r.node_id));
    }
    let mut sorted = pages.clone();
    sorted.sort();
    assert_eq!(pages, sorted);
    assert_eq!(pages.iter().collect::<HashSet<_>>().len(), 7);

    let descending = registry
        .list(&ListQuery {
            sort: SortKey::NodeId,
            direction: SortDirection::Descending,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(descending.items.first().map(|r| &r.node_id), sorted.last());
}

pub fn list_searches_ids_and_mac(registry: &dyn Registry) {
    let minted = mint(registry, 3, Some(Chip::Esp32c3));
    let target = &minted[1].registration;
    registry.record_flash(&flash_record(&target.node_id, FlashOutcome::Failed)).unwrap();

    let by_node = &target.node_id.as_str()[3..11];
    let by_download = &target.download_id.as_str()[5..20];
    for search in [by_node, by_download, "AA:BB:CC:11:22:33", "aabbcc112233", "cc:11"] {
        let page =
            registry.list(&ListQuery { search: Some(search.to_owned()), ..Default::default() }).unwrap();
        assert_eq!(page.items.len(), 1, "search {search:?}");
        assert_eq!(page.items[0].node_id, target.node_id, "search {search:?}");
    }

    let nothing = registry.list(&ListQuery { search: Some("%".to_owned()), ..Default::default() }).unwrap();
    assert_eq!(nothing.total, 0);
}

pub fn list_rejects_bad_limit(registry: &dyn Registry) {
    for limit in [0, registry::MAX_LIST_LIMIT + 1] {
        let error = registry.list(&ListQuery { limit, ..Default::default() }).unwrap_err();
        assert_eq!(error.code(), "invalid_input", "limit {limit}");
    }
}

pub fn unknown_node_is_not_found_everywhere(registry: &dyn Registry) {
    let unknown = unknown_node_id();
    let results: Vec<Result<(), RegistryError>> = vec![
        registry.get(&unknown).map(drop),
        registry.rotate_token(&unknown).map(drop),
        registry.rotate_download_id(&unknown).map(drop),
        registry.set_metadata(&unknown, None).map(drop),
        registry.mark_provisioned(&unknown, Utc::now()).map(drop),
        registry.consume_legacy_token(&unknown).map(drop),
        registry.record_flash(&flash_record(&unknown, FlashOutcome::Success)).map(drop),
        registry.flash_history(&unknown).map(drop),
        registry.assign(&unknown, &house_assignment("maple-12")).map(drop),
        registry.unassign(&unknown).map(drop),
        registry.release_lease(&unknown, "0123456789abcdef").map(drop),
    ];
    for (index, result) in results.into_iter().enumerate() {
        let error = result.unwrap_err();
        assert_eq!(error.code(), "registration_not_found", "operation {index}: {error}");
    }
    assert_eq!(registry.counts().unwrap().total, 0);

    let error = registry.get_by_download_id(&DownloadId::generate()).unwrap_err();
    assert_eq!(error.code(), "download_id_not_found", "{error}");
}

pub fn rotations_replace_credentials(registry: &dyn Registry) {
    let minted = mint(registry, 1, None).remove(0);
    let node_id = &minted.registration.node_id;

    let new_token = registry.rotate_token(node_id).unwrap();
    let stored = registry.get(node_id).unwrap();
    assert!(stored.token_hash.matches(new_token.expose_secret()));
    assert!(!stored.token_hash.matches(minted.ota_token.expose_secret()));

    let new_download = registry.rotate_download_id(node_id).unwrap();
    let stored = registry.get(node_id).unwrap();
    assert_eq!(stored.download_id, new_download);
    assert_ne!(stored.download_id, minted.registration.download_id);
    assert_eq!(&stored.node_id, node_id);
}

pub fn metadata_can_be_set_and_cleared(registry: &dyn Registry) {
    let minted = mint(registry, 1, Some(Chip::Esp32)).remove(0);
    let node_id = &minted.registration.node_id;
    let metadata = HardwareMetadata::parse(r#"{"strips":[{"index":0,"gpio":13,"enable_gpio":12}]}"#).unwrap();

    let updated = registry.set_metadata(node_id, Some(&metadata)).unwrap();
    assert_eq!(updated.hardware_metadata.as_ref().map(|m| m.text()), Some(metadata.text()));

    let conflicting = HardwareMetadata::parse(r#"{"target":"esp32s3"}"#).unwrap();
    assert_eq!(registry.set_metadata(node_id, Some(&conflicting)).unwrap_err().code(), "invalid_input");

    let cleared = registry.set_metadata(node_id, None).unwrap();
    assert_eq!(cleared.hardware_metadata, None);
}

pub fn flash_records_build_history(registry: &dyn Registry) {
    let minted = mint(registry, 1, Some(Chip::Esp32c3)).remove(0);
    let node_id = &minted.registration.node_id;

    registry.record_flash(&flash_record(node_id, FlashOutcome::Failed)).unwrap();
    assert_eq!(registry.get(node_id).unwrap().status(), RegistrationStatus::Available);

    let success = registry.record_flash(&flash_record(node_id, FlashOutcome::Success)).unwrap();
    let stored = registry.get(node_id).unwrap();
    assert_eq!(stored.status(), RegistrationStatus::Provisioned);
    assert_eq!(
        stored.provisioned_at.map(|t| t.timestamp_millis()),
        Some(success.attempt.attempted_at.timestamp_millis())
    );

    let history = registry.flash_history(node_id).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].attempt.outcome, FlashOutcome::Success);
    assert_eq!(history[1].attempt.outcome, FlashOutcome::Failed);
    assert_eq!(history[1].attempt.error_code.as_deref(), Some("board_stopped_answering"));
    assert_eq!(history[0].attempt.regions, success.attempt.regions);
}

pub fn counts_by_status_and_chip(registry: &dyn Registry) {
    let c3 = mint(registry, 2, Some(Chip::Esp32c3));
    mint(registry, 1, None);
    registry.mark_provisioned(&c3[0].registration.node_id, Utc::now()).unwrap();

    let counts = registry.counts().unwrap();
    assert_eq!(counts.total, 3);
    assert_eq!(counts.available, 2);
    assert_eq!(counts.provisioned, 1);
    assert_eq!(counts.available_by_chip.get("esp32c3"), Some(&1));
    assert_eq!(counts.available_by_chip.get("unspecified"), Some(&1));
}

pub fn download_id_lookup_follows_rotation(registry: &dyn Registry) {
    let minted = mint(registry, 2, Some(Chip::Esp32)).remove(1).registration;

    let found = registry.get_by_download_id(&minted.download_id).unwrap();
    assert_eq!(found, minted);

    let rotated = registry.rotate_download_id(&minted.node_id).unwrap();
    let error = registry.get_by_download_id(&minted.download_id).unwrap_err();
    assert_eq!(error.code(), "download_id_not_found", "{error}");
    assert_eq!(registry.get_by_download_id(&rotated).unwrap().node_id, minted.node_id);
}

pub fn assign_and_unassign(registry: &dyn Registry) {
    let node_id = mint(registry, 1, Some(Chip::Esp32c3)).remove(0).registration.node_id;
    let target = Assignment { room_id: Some(3), ..house_assignment("maple-12") };

    let assigned = registry.assign(&node_id, &target).unwrap();
    assert_eq!(assigned.status(), RegistrationStatus::Assigned);
    assert_eq!(assigned.assignment.as_ref(), Some(&target));
    assert_eq!(
        registry.assign(&node_id, &target).unwrap(),
        assigned,
        "the same assignment again is accepted"
    );

    let error = registry.assign(&node_id, &house_assignment("oak-7")).unwrap_err();
    assert_eq!(error.code(), "conflict", "{error}");
    assert_eq!(registry.counts().unwrap().assigned, 1);

    let unassigned = registry.unassign(&node_id).unwrap();
    assert_eq!(unassigned.assignment, None);
    assert_eq!(unassigned.status(), RegistrationStatus::Available);
    assert_eq!(registry.unassign(&node_id).unwrap(), unassigned, "unassigning twice changes nothing");

    let moved = registry.assign(&node_id, &house_assignment("oak-7")).unwrap();
    assert_eq!(moved.assignment.and_then(|a| a.house_slug).as_deref(), Some("oak-7"));
}

pub fn assign_rejects_empty_and_bad_slug(registry: &dyn Registry) {
    let node_id = mint(registry, 1, None).remove(0).registration.node_id;
    for assignment in [Assignment::default(), house_assignment(""), house_assignment("bad\nslug")] {
        let error = registry.assign(&node_id, &assignment).unwrap_err();
        assert_eq!(error.code(), "invalid_input", "{assignment:?}: {error}");
    }
    assert_eq!(registry.get(&node_id).unwrap().assignment, None);
}

pub fn reserve_hands_out_each_registration_once(registry: &dyn Registry) {
    let c3: HashSet<NodeId> =
        mint(registry, 3, Some(Chip::Esp32c3)).into_iter().map(|entry| entry.registration.node_id).collect();
    mint(registry, 1, Some(Chip::Esp32));

    let reservations: Vec<_> = (0..3)
        .map(|bench| registry.reserve_next(&reserve_request(Chip::Esp32c3, bench, None)).unwrap())
        .collect();

    let reserved: HashSet<NodeId> =
        reservations.iter().map(|reservation| reservation.registration.node_id.clone()).collect();
    assert_eq!(reserved, c3);
    for (bench, reservation) in reservations.iter().enumerate() {
        assert_eq!(reservation.lease.holder, format!("bench-{bench}"));
        assert_eq!(reservation.registration.target_chip, Some(Chip::Esp32c3));
        assert!(reservation.lease.expires_at > Utc::now());
    }
    let error = registry.reserve_next(&reserve_request(Chip::Esp32c3, 9, None)).unwrap_err();
    assert_eq!(error.code(), "none_available", "{error}");
    let error = registry.reserve_next(&reserve_request(Chip::Esp32s3, 9, None)).unwrap_err();
    assert_eq!(error.code(), "none_available", "{error}");

    let released = &reservations[1];
    let error = registry.release_lease(&released.registration.node_id, "not-the-lease-id").unwrap_err();
    assert_eq!(error.code(), "lease_not_held", "{error}");
    registry.release_lease(&released.registration.node_id, &released.lease.lease_id).unwrap();
    let again = registry.reserve_next(&reserve_request(Chip::Esp32c3, 9, None)).unwrap();
    assert_eq!(again.registration.node_id, released.registration.node_id);
    assert_ne!(again.lease.lease_id, released.lease.lease_id);

    let error = registry.release_lease(&released.registration.node_id, &released.lease.lease_id).unwrap_err();
    assert_eq!(error.code(), "lease_not_held", "an old lease ID no longer releases: {error}");
}

pub fn reserve_rejects_bad_requests(registry: &dyn Registry) {
    mint(registry, 1, Some(Chip::Esp32));
    for request in [
        ReserveRequest { target_chip: Chip::Esp32, holder: String::new(), lease_seconds: None },
        reserve_request(Chip::Esp32, 0, Some(0)),
        reserve_request(Chip::Esp32, 0, Some(registry::MAX_LEASE_SECONDS + 1)),
    ] {
        let error = registry.reserve_next(&request).unwrap_err();
        assert_eq!(error.code(), "invalid_input", "{request:?}: {error}");
    }
}

pub fn provisioning_ends_lease(registry: &dyn Registry) {
    let minted = mint(registry, 2, Some(Chip::Esp32s3));
    let first = registry.reserve_next(&reserve_request(Chip::Esp32s3, 1, None)).unwrap();
    let second = registry.reserve_next(&reserve_request(Chip::Esp32s3, 2, None)).unwrap();
    assert_eq!(minted.len(), 2);

    registry.record_flash(&flash_record(&first.registration.node_id, FlashOutcome::Success)).unwrap();
    registry.mark_provisioned(&second.registration.node_id, Utc::now()).unwrap();

    for reservation in [&first, &second] {
        let node_id = &reservation.registration.node_id;
        let error = registry.release_lease(node_id, &reservation.lease.lease_id).unwrap_err();
        assert_eq!(error.code(), "lease_not_held", "{error}");
        assert_eq!(registry.get(node_id).unwrap().status(), RegistrationStatus::Provisioned);
    }
    let error = registry.reserve_next(&reserve_request(Chip::Esp32s3, 3, None)).unwrap_err();
    assert_eq!(error.code(), "none_available", "provisioned registrations are not reserved again: {error}");
}

pub fn expired_lease_is_reserved_again(registry: &dyn Registry) {
    mint(registry, 2, Some(Chip::Esp32c3));
    let long = registry.reserve_next(&reserve_request(Chip::Esp32c3, 1, Some(600))).unwrap();
    let short = registry.reserve_next(&reserve_request(Chip::Esp32c3, 2, Some(1))).unwrap();

    // Polls until the one-second lease has expired; the ten-minute lease must hold meanwhile.
    let mut taken = None;
    for _ in 0..60 {
        match registry.reserve_next(&reserve_request(Chip::Esp32c3, 3, None)) {
            Ok(reservation) => {
                taken = Some(reservation);
                break;
            }
            Err(RegistryError::NoneAvailable { .. }) => std::thread::sleep(Duration::from_millis(100)),
            Err(error) => panic!("reserving failed: {error}"),
        }
    }

    let taken = taken.expect("the one-second lease expired within six seconds");
    assert_eq!(taken.registration.node_id, short.registration.node_id);
    assert_ne!(taken.registration.node_id, long.registration.node_id);
    let error = registry.release_lease(&short.registration.node_id, &short.lease.lease_id).unwrap_err();
    assert_eq!(error.code(), "lease_not_held", "{error}");
}

pub fn audit_lists_changes_newest_first(registry: &dyn Registry) {
    let minted = mint(registry, 2, Some(Chip::Esp32c3));
    let node_id = &minted[0].registration.node_id;
    registry.rotate_token(node_id).unwrap();
    registry.set_metadata(node_id, Some(&HardwareMetadata::parse(r#"{"note":"x"}"#).unwrap())).unwrap();
    registry.assign(node_id, &house_assignment("maple-12")).unwrap();
    registry.get(node_id).unwrap();

    let entries =
        registry.audit_log(&AuditQuery { node_id: Some(node_id.clone()), ..Default::default() }).unwrap();

    let actions: Vec<&str> = entries.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["assign", "set_metadata", "rotate_token", "mint"]);
    for entry in &entries {
        assert_eq!(entry.node_id.as_ref(), Some(node_id));
        assert!(!entry.actor.is_empty());
    }
    assert!(entries.windows(2).all(|pair| pair[0].id > pair[1].id && pair[0].at >= pair[1].at));

    // A server's log may also hold operator changes, which name no node.
    let all = registry.audit_log(&AuditQuery::default()).unwrap();
    assert_eq!(all.iter().filter(|entry| entry.node_id.is_some()).count(), 5);
    let first_page = registry.audit_log(&AuditQuery { limit: 2, ..Default::default() }).unwrap();
    let second_page = registry
        .audit_log(&AuditQuery {
            limit: 2,
            before_id: first_page.last().map(|entry| entry.id),
            ..Default::default()
        })
        .unwrap();
    let paged: Vec<i64> = first_page.iter().chain(&second_page).map(|entry| entry.id).collect();
    let expected: Vec<i64> = all.iter().take(4).map(|entry| entry.id).collect();
    assert_eq!(paged, expected);

    for limit in [0, registry::MAX_AUDIT_LIMIT + 1] {
        let error = registry.audit_log(&AuditQuery { limit, ..Default::default() }).unwrap_err();
        assert_eq!(error.code(), "invalid_input", "limit {limit}: {error}");
    }
}

pub fn reserve_request(chip: Chip, bench: usize, lease_seconds: Option<u32>) -> ReserveRequest {
    ReserveRequest { target_chip: chip, holder: format!("bench-{bench}"), lease_seconds }
}

pub fn house_assignment(slug: &str) -> Assignment {
    Assignment { house_slug: Some(slug.to_owned()), ..Default::default() }
}

pub fn flash_record(node_id: &NodeId, outcome: FlashOutcome) -> NewFlashRecord {
    let failed = outcome == FlashOutcome::Failed;
    NewFlashRecord {
        node_id: node_id.clone(),
        attempted_at: Utc::now(),
        port: "/dev/ttyUSB0".to_owned(),
        bench_host: "bench-1".to_owned(),
        chip: Some(Chip::Esp32c3),
        chip_revision: Some("v0.4".to_owned()),
        mac: Some("aa:bb:cc:11:22:33".to_owned()),
        flash_size: Some(4 * 1024 * 1024),
        regions: vec![RegionDigest { offset: 0x10000, size: 1024, sha256: "ab".repeat(32) }],
        outcome,
        error_code: failed.then(|| "board_stopped_answering".to_owned()),
        error_message: failed.then(|| "the board stopped answering".to_owned()),
    }
}

/// A contract check and its name.
type Check = (&'static str, fn(&dyn Registry));

/// Runs every contract check, each against a registry from `fresh`.
pub fn run_all(fresh: &dyn Fn() -> Box<dyn Registry>) {
    let checks: [Check; 21] = [
        ("mint_returns_tokens_matching_hashes", mint_returns_tokens_matching_hashes),
        ("mint_keeps_metadata_per_node", mint_keeps_metadata_per_node),
        ("mint_rejects_bad_counts", mint_rejects_bad_counts),
        ("mint_with_same_key_replays_batch", mint_with_same_key_replays_batch),
        ("mint_replay_refused_after_change", mint_replay_refused_after_change),
        ("list_filters_sorts_and_pages", list_filters_sorts_and_pages),
        ("list_searches_ids_and_mac", list_searches_ids_and_mac),
        ("list_rejects_bad_limit", list_rejects_bad_limit),
        ("unknown_node_is_not_found_everywhere", unknown_node_is_not_found_everywhere),
        ("rotations_replace_credentials", rotations_replace_credentials),
        ("metadata_can_be_set_and_cleared", metadata_can_be_set_and_cleared),
        ("flash_records_build_history", flash_records_build_history),
        ("counts_by_status_and_chip", counts_by_status_and_chip),
        ("download_id_lookup_follows_rotation", download_id_lookup_follows_rotation),
        ("assign_and_unassign", assign_and_unassign),
        ("assign_rejects_empty_and_bad_slug", assign_rejects_empty_and_bad_slug),
        ("reserve_hands_out_each_registration_once", reserve_hands_out_each_registration_once),
        ("reserve_rejects_bad_requests", reserve_rejects_bad_requests),
        ("provisioning_ends_lease", provisioning_ends_lease),
        ("expired_lease_is_reserved_again", expired_lease_is_reserved_again),
        ("audit_lists_changes_newest_first", audit_lists_changes_newest_first),
    ];
    for (name, check) in checks {
        eprintln!("contract check: {name}");
        check(fresh().as_ref());
    }
}
