//! Checks that the committed TypeScript types match the Rust types of the IPC interface.
//! Run with `UPDATE_BINDINGS=1` to regenerate `ui/src/lib/backend/bindings.ts`.

use std::path::PathBuf;

use node_factory_app::dto::*;
use node_factory_app::{CommandError, RegistrySettings, ResetMode, Settings};
use ts_rs::{Config, TS};

macro_rules! declarations {
    ($config:expr, $($type:ty),+ $(,)?) => {
        vec![$(format!("export {}", <$type as TS>::decl($config))),+]
    };
}

fn generate() -> String {
    let config = Config::new().with_large_int("number");
    let declarations = declarations!(
        &config,
        CommandError,
        ChipName,
        Status,
        RegistrationRow,
        SortColumn,
        RegistrationQuery,
        RegistrationPage,
        Counts,
        ChipCount,
        FlashAttempt,
        FlashedRegion,
        RegistrationDetail,
        MintInput,
        MintedRow,
        MintedBatch,
        ExportFormat,
        ImportedMetadata,
        RotatedToken,
        RotatedDownloadId,
        TokenChoice,
        PatchInput,
        PatchOutcome,
        EspIdfStatus,
        BenchPort,
        PortsChanged,
        FirmwareSource,
        FlashJobInput,
        JobStage,
        FlashJobEvent,
        Settings,
        RegistrySettings,
        ResetMode,
    );
    let mut text = String::from(
        "// Generated from src-tauri/src/dto.rs and settings.rs by ts-rs; do not edit.\n\
         // Regenerate with: UPDATE_BINDINGS=1 cargo test -p node-factory-app --test bindings\n\n",
    );
    for declaration in declarations {
        text.push_str(declaration.trim_end());
        text.push_str("\n\n");
    }
    text.truncate(text.trim_end().len());
    text.push('\n');
    text
}

#[test]
fn bindings_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/backend/bindings.ts");
    let generated = generate();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date; regenerate it with UPDATE_BINDINGS=1 cargo test -p node-factory-app --test bindings",
        path.display()
    );
}
