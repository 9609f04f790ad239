//! Checks that the committed TypeScript types match the Rust types of the IPC interface, and
//! that the committed role permissions and hints match the Rust tables. Run with
//! `UPDATE_BINDINGS=1` to regenerate `bindings.ts`, `roles.ts` and `hints.ts` in
//! `ui/src/lib/backend/`.

use std::path::PathBuf;

use node_factory_app::dto::*;
use node_factory_app::{CommandError, HINTS, RegistrySettings, ResetMode, Settings};
use registry::Role;
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
        RoleName,
        ServerSummary,
        ConnectionState,
        ActionPermissions,
        RegistryStatus,
        LeaseView,
        CardClaim,
        AuditRow,
        AuditPage,
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

/// The placeholder that the front end replaces with an operator's name in the refusals.
const OPERATOR_PLACEHOLDER: &str = "{operator}";

/// Returns the refusals of each role, for the fake backend of the browser tests. The real app
/// gets them from the Rust side with each registry status.
fn generate_roles() -> String {
    let mut text = String::from(
        "// Generated from the registry's role table by src-tauri/tests/bindings.rs; do not edit.\n\
         // Regenerate with: UPDATE_BINDINGS=1 cargo test -p node-factory-app --test bindings\n\
         import type { ActionPermissions, RoleName } from \"./bindings\";\n\n",
    );
    text.push_str(&format!("/** The operator's name in each refusal below. */\nexport const OPERATOR_PLACEHOLDER = \"{OPERATOR_PLACEHOLDER}\";\n\n"));
    text.push_str("/** The reason each role may not do each action, or null where it may. */\n");
    text.push_str("export const ROLE_PERMISSIONS: Record<RoleName, ActionPermissions> = {\n");
    for role in Role::ALL {
        let permissions = node_factory_app::permissions::for_role(OPERATOR_PLACEHOLDER, role);
        let json = serde_json::to_string_pretty(&permissions).unwrap().replace('\n', "\n  ");
        text.push_str(&format!("  {}: {json},\n", role.as_str()));
    }
    text.push_str("};\n");
    text
}

/// Returns the app's hint table, for the fake backend's errors.
fn generate_hints() -> String {
    let mut text = String::from(
        "// Generated from the hint table in src-tauri/src/error.rs by src-tauri/tests/bindings.rs; do not edit.\n\
         // Regenerate with: UPDATE_BINDINGS=1 cargo test -p node-factory-app --test bindings\n\n\
         /** The operator hints of the app's own error codes, by code. */\n\
         export const APP_HINTS: Record<string, string> = {\n",
    );
    for (code, hint) in HINTS {
        text.push_str(&format!("  {code}: {},\n", serde_json::to_string(hint).unwrap()));
    }
    text.push_str("};\n");
    text
}

/// Compares a generated file with the committed one, or rewrites it with `UPDATE_BINDINGS`.
fn check_generated(name: &str, generated: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/backend").join(name);
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date; regenerate it with UPDATE_BINDINGS=1 cargo test -p node-factory-app --test bindings",
        path.display()
    );
}

#[test]
fn bindings_are_current() {
    check_generated("bindings.ts", &generate());
}

#[test]
fn hint_table_is_current() {
    check_generated("hints.ts", &generate_hints());
}

#[test]
fn role_table_is_current() {
    check_generated("roles.ts", &generate_roles());
}
