//! The identity patch over every real-world sdkconfig file: each line outside the `CONFIG_UL_*`
//! keys keeps its bytes and order, and the identity reads back exactly.

mod common;

use std::path::Path;

use common::{IdentityParts, data_files, key};
use factory_core::{Chip, ConfigValue};
use sdkconfig::{
    IDF_TARGET_KEY, NODE_ID_KEY, NODE_METADATA_KEY, OTA_BEARER_TOKEN_KEY, OTA_MANIFEST_URL_KEY, SdkConfig,
    TARGET_CHIP_KEY, prepare_identity_patch,
};

const DEPRECATED_START: &str = "# Deprecated options for backward compatibility";

/// Splits text into lines that keep their terminators, so that comparisons include line endings.
fn raw_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn is_ul_line(line: &str) -> bool {
    line.starts_with("CONFIG_UL_") || line.starts_with("# CONFIG_UL_")
}

fn lines_outside_ul_keys(text: &str) -> Vec<&str> {
    raw_lines(text).into_iter().filter(|line| !is_ul_line(line)).collect()
}

fn file_chip(config: &SdkConfig, path: &Path) -> Chip {
    match config.get(&key(IDF_TARGET_KEY)) {
        Some(ConfigValue::String(name)) => name.parse().unwrap(),
        other => panic!("{}: CONFIG_IDF_TARGET is {other:?}", path.display()),
    }
}

fn string(text: &str) -> Option<ConfigValue> {
    Some(ConfigValue::String(text.to_owned()))
}

/// Checks one patched file against its original and the identity written into it.
fn check_patched(path: &Path, original: &str, patched: &str, parts: &IdentityParts) {
    let name = path.display();
    assert_eq!(
        lines_outside_ul_keys(patched),
        lines_outside_ul_keys(original),
        "{name}: other lines changed"
    );

    let patched_lines = raw_lines(patched);
    let block_start = patched_lines.iter().position(|line| line.trim_end() == DEPRECATED_START);
    let last_ul_line = patched_lines.iter().rposition(|line| is_ul_line(line)).unwrap();
    if let Some(block_start) = block_start {
        assert!(last_ul_line < block_start, "{name}: identity written into the deprecated block");
    }

    let crlf = original.contains("\r\n");
    for line in patched_lines.iter().filter(|line| is_ul_line(line)) {
        assert_eq!(line.ends_with("\r\n"), crlf, "{name}: line ending of {line:?}");
    }

    let reread = SdkConfig::parse(patched);
    assert_eq!(reread.get(&key(NODE_ID_KEY)), string(parts.node_id.as_str()), "{name}");
    assert_eq!(reread.get(&key(OTA_MANIFEST_URL_KEY)), string(&parts.url), "{name}");
    assert_eq!(reread.get(&key(OTA_BEARER_TOKEN_KEY)), string(parts.token.expose_secret()), "{name}");
    assert_eq!(reread.get(&key(TARGET_CHIP_KEY)), string(parts.chip.idf_target()), "{name}");
    assert_eq!(reread.get(&key("CONFIG_UL_LED_COUNT")), Some(ConfigValue::Int(60)), "{name}");

    let metadata = parts.metadata.as_ref().unwrap();
    let Some(ConfigValue::String(json)) = reread.get(&key(NODE_METADATA_KEY)) else {
        panic!("{name}: no metadata string");
    };
    assert_eq!(json, metadata.to_compact_json(), "{name}");
    let decoded: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(decoded.as_object(), Some(metadata.as_object()), "{name}");
}

#[test]
fn corpus_patch_keeps_other_lines() {
    let files = data_files("sdkconfig");
    assert!(files.len() >= 6, "expected the real-world sdkconfig files, found {files:?}");

    for path in files {
        let original = std::fs::read_to_string(&path).unwrap();
        let config = SdkConfig::parse(&original);
        assert_eq!(config.to_text(), original, "{}: parse and serialize must round-trip", path.display());

        let parts = IdentityParts::with_metadata(file_chip(&config, &path));
        let mut patched = config.clone();
        patched.apply_identity(&parts.identity()).unwrap();
        check_patched(&path, &original, &patched.to_text(), &parts);

        let mut again = patched.clone();
        again.apply_identity(&parts.identity()).unwrap();
        assert_eq!(again.to_text(), patched.to_text(), "{}: second patch changed the file", path.display());
    }
}

#[test]
fn corpus_patch_written_to_copy() {
    let folder = tempfile::tempdir().unwrap();

    for source in data_files("sdkconfig") {
        let original = std::fs::read_to_string(&source).unwrap();
        let path = folder.path().join(source.file_name().unwrap());
        std::fs::write(&path, &original).unwrap();
        let parts = IdentityParts::with_metadata(file_chip(&SdkConfig::parse(&original), &source));

        prepare_identity_patch(&path, &parts.identity()).unwrap().write().unwrap();

        let written = std::fs::read_to_string(&path).unwrap();
        check_patched(&source, &original, &written, &parts);
    }
}

#[test]
fn corpus_patch_rejects_other_chip() {
    for path in data_files("sdkconfig") {
        let config = SdkConfig::parse(&std::fs::read_to_string(&path).unwrap());
        let chip = file_chip(&config, &path);
        let other = Chip::ALL.into_iter().find(|candidate| *candidate != chip).unwrap();
        let parts = IdentityParts::with_metadata(other);

        let error = config.clone().apply_identity(&parts.identity()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&format!("targets {chip}")), "{message}");
        assert!(message.contains(&format!("idf.py set-target {other}")), "{message}");
    }
}
