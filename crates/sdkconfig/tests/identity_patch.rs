//! The identity patch in memory and `prepare_identity_patch` on files: values written, target
//! check, stale metadata, and errors that name the file without printing the token.

mod common;

use common::{IdentityParts, key};
use factory_core::{Chip, ConfigValue, HardwareMetadata};
use sdkconfig::{
    NODE_ID_KEY, NODE_METADATA_KEY, OTA_BEARER_TOKEN_KEY, OTA_MANIFEST_URL_KEY, SdkConfig, SdkConfigError,
    TARGET_CHIP_KEY, prepare_identity_patch,
};

const C3_PROJECT: &str = "#\n# Project\n#\nCONFIG_IDF_TARGET=\"esp32c3\"\nCONFIG_IDF_TARGET_ESP32C3=y\n\n\
# Deprecated options for backward compatibility\nCONFIG_OLD=y\n# End of deprecated options\n";

fn string(text: &str) -> Option<ConfigValue> {
    Some(ConfigValue::String(text.to_owned()))
}

#[test]
fn identity_patch_writes_every_key() {
    let parts = IdentityParts::with_metadata(Chip::Esp32c3);
    let mut config = SdkConfig::parse(C3_PROJECT);
    config.apply_identity(&parts.identity()).unwrap();

    let reread = SdkConfig::parse(&config.to_text());
    let metadata = parts.metadata.as_ref().unwrap();
    assert_eq!(reread.get(&key(NODE_ID_KEY)), string(parts.node_id.as_str()));
    assert_eq!(reread.get(&key(OTA_MANIFEST_URL_KEY)), string(&parts.url));
    assert_eq!(reread.get(&key(OTA_BEARER_TOKEN_KEY)), string(parts.token.expose_secret()));
    assert_eq!(reread.get(&key(TARGET_CHIP_KEY)), string("esp32c3"));
    assert_eq!(reread.get(&key(NODE_METADATA_KEY)), string(&metadata.to_compact_json()));
    assert_eq!(reread.get(&key("CONFIG_UL_LED_COUNT")), Some(ConfigValue::Int(60)));
}

#[test]
fn identity_patch_appends_before_deprecated_block() {
    let parts = IdentityParts::without_metadata(Chip::Esp32c3);
    let mut config = SdkConfig::parse(C3_PROJECT);
    config.apply_identity(&parts.identity()).unwrap();

    let expected = format!(
        "#\n# Project\n#\nCONFIG_IDF_TARGET=\"esp32c3\"\nCONFIG_IDF_TARGET_ESP32C3=y\n\
         CONFIG_UL_NODE_ID=\"{}\"\nCONFIG_UL_OTA_MANIFEST_URL=\"{}\"\nCONFIG_UL_OTA_BEARER_TOKEN=\"{}\"\n\
         CONFIG_UL_TARGET_CHIP=\"esp32c3\"\n\n\
         # Deprecated options for backward compatibility\nCONFIG_OLD=y\n# End of deprecated options\n",
        parts.node_id,
        parts.url,
        parts.token.expose_secret(),
    );
    assert_eq!(config.to_text(), expected);
}

#[test]
fn identity_patch_replaces_earlier_node() {
    let earlier = IdentityParts::with_metadata(Chip::Esp32c3);
    let later = IdentityParts::without_metadata(Chip::Esp32c3);
    let mut config = SdkConfig::parse(C3_PROJECT);
    config.apply_identity(&earlier.identity()).unwrap();
    let lines_after_first_patch = config.to_text().lines().count();

    config.apply_identity(&later.identity()).unwrap();
    let text = config.to_text();

    assert_eq!(config.get(&key(NODE_METADATA_KEY)), None, "stale metadata must be removed");
    assert!(!text.contains("CONFIG_UL_NODE_METADATA"), "{text}");
    assert_eq!(config.get(&key(NODE_ID_KEY)), string(later.node_id.as_str()));
    assert_eq!(config.get(&key(OTA_BEARER_TOKEN_KEY)), string(later.token.expose_secret()));
    assert!(!text.contains(earlier.token.expose_secret()));
    assert_eq!(text.lines().count(), lines_after_first_patch - 1);
}

#[test]
fn identity_patch_is_idempotent() {
    let parts = IdentityParts::with_metadata(Chip::Esp32c3);
    let mut once = SdkConfig::parse(C3_PROJECT);
    once.apply_identity(&parts.identity()).unwrap();
    let mut twice = once.clone();
    twice.apply_identity(&parts.identity()).unwrap();
    assert_eq!(twice.to_text(), once.to_text());
}

#[test]
fn identity_patch_drops_default_lines() {
    let before = "CONFIG_IDF_TARGET=\"esp32\"\n# default:\nCONFIG_UL_NODE_ID=\"\"\n# default:\n# CONFIG_UL_LED_COUNT is not set\n";
    let parts = IdentityParts::with_metadata(Chip::Esp32);
    let mut config = SdkConfig::parse(before);
    config.apply_identity(&parts.identity()).unwrap();
    let text = config.to_text();
    assert!(!text.contains("# default:"), "{text}");
    assert!(
        text.starts_with(&format!(
            "CONFIG_IDF_TARGET=\"esp32\"\nCONFIG_UL_NODE_ID=\"{}\"\nCONFIG_UL_LED_COUNT=60\n",
            parts.node_id
        )),
        "{text}"
    );
}

#[test]
fn identity_patch_rejects_target_mismatch() {
    let parts = IdentityParts::with_metadata(Chip::Esp32c3);
    let before = C3_PROJECT.replace("esp32c3", "esp32s3");
    let mut config = SdkConfig::parse(&before);

    let error = config.apply_identity(&parts.identity()).unwrap_err();
    assert!(matches!(error, SdkConfigError::TargetMismatch { .. }), "{error:?}");
    let message = error.to_string();
    let expected = format!(
        "sdkconfig targets esp32s3 but registration {} is for esp32c3; run idf.py set-target esp32c3 in the project, or pick a registration for esp32s3",
        parts.node_id
    );
    assert_eq!(message, expected);
    assert_eq!(config.to_text(), before, "a rejected patch must leave the file unchanged");
}

#[test]
fn identity_patch_without_target_skips_check() {
    let parts = IdentityParts::without_metadata(Chip::Esp32s3);
    let mut config = SdkConfig::parse("CONFIG_LOG_DEFAULT_LEVEL=3\n");
    config.apply_identity(&parts.identity()).unwrap();
    assert_eq!(config.get(&key(TARGET_CHIP_KEY)), string("esp32s3"));
}

#[test]
fn identity_patch_rejects_control_characters_atomically() {
    let mut parts = IdentityParts::without_metadata(Chip::Esp32c3);
    parts.url = "https://ota.example.com/\nCONFIG_INJECTED=y".to_owned();
    let mut config = SdkConfig::parse(C3_PROJECT);

    let error = config.apply_identity(&parts.identity()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains(OTA_MANIFEST_URL_KEY), "{message}");
    assert!(message.contains("U+000A"), "{message}");
    assert_eq!(config.to_text(), C3_PROJECT, "the node ID set before the URL must be rolled back");
}

#[test]
fn identity_patch_rejects_invalid_stored_metadata() {
    let mut parts = IdentityParts::without_metadata(Chip::Esp32c3);
    parts.metadata = Some(HardwareMetadata::from_stored(r#"{"sdkconfig":{"CONFIG_UL_NODE_ID":"x"}}"#));
    let mut config = SdkConfig::parse(C3_PROJECT);

    let error = config.apply_identity(&parts.identity()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains(parts.node_id.as_str()), "{message}");
    assert!(message.contains("CONFIG_UL_NODE_ID"), "{message}");
    assert_eq!(config.to_text(), C3_PROJECT);
}

#[test]
fn identity_patch_errors_hide_token() {
    let parts = IdentityParts::with_metadata(Chip::Esp32c3);
    let mut config = SdkConfig::parse(&C3_PROJECT.replace("esp32c3", "esp32"));
    let error = config.apply_identity(&parts.identity()).unwrap_err();

    let mut patched = SdkConfig::parse(C3_PROJECT);
    patched.apply_identity(&parts.identity()).unwrap();

    let printed =
        [error.to_string(), format!("{error:?}"), format!("{:?}", parts.identity()), format!("{patched:?}")];
    for text in printed {
        assert!(!text.contains(parts.token_body()), "{text}");
    }
}

#[test]
fn prepare_patch_computes_without_writing() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("sdkconfig");
    std::fs::write(&path, C3_PROJECT).unwrap();
    let parts = IdentityParts::with_metadata(Chip::Esp32c3);

    let patch = prepare_identity_patch(&path, &parts.identity()).unwrap();

    assert_eq!(std::fs::read_to_string(&path).unwrap(), C3_PROJECT);
    assert!(patch.changes_file());
    assert_eq!(patch.path(), path);
    let patched = SdkConfig::parse(std::str::from_utf8(patch.contents()).unwrap());
    assert_eq!(patched.get(&key(OTA_BEARER_TOKEN_KEY)), string(parts.token.expose_secret()));
    assert!(!format!("{patch:?}").contains(parts.token_body()));
}

#[test]
fn prepare_patch_errors_name_file() {
    let folder = tempfile::tempdir().unwrap();
    let parts = IdentityParts::without_metadata(Chip::Esp32c3);

    let missing = folder.path().join("missing").join("sdkconfig");
    let error = prepare_identity_patch(&missing, &parts.identity()).unwrap_err();
    assert!(matches!(error, SdkConfigError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains(&missing.display().to_string()), "{error}");

    let binary = folder.path().join("binary.sdkconfig");
    std::fs::write(&binary, b"CONFIG_A=y\n\xff\xfe\n").unwrap();
    let error = prepare_identity_patch(&binary, &parts.identity()).unwrap_err();
    assert!(matches!(error, SdkConfigError::NotUtf8 { offset: 11, .. }), "{error:?}");
    assert!(error.to_string().contains(&binary.display().to_string()), "{error}");

    let other_chip = folder.path().join("s3.sdkconfig");
    std::fs::write(&other_chip, C3_PROJECT.replace("esp32c3", "esp32s3")).unwrap();
    let error = prepare_identity_patch(&other_chip, &parts.identity()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&other_chip.display().to_string()), "{message}");
    assert!(message.contains("targets esp32s3"), "{message}");
    assert!(message.contains("is for esp32c3"), "{message}");
    assert!(message.contains("idf.py set-target esp32c3"), "{message}");

    let folder_as_file = folder.path().to_owned();
    let error = prepare_identity_patch(&folder_as_file, &parts.identity()).unwrap_err();
    assert!(matches!(error, SdkConfigError::Read { .. }), "{error:?}");
    assert!(error.to_string().contains(&folder_as_file.display().to_string()), "{error}");
}
