//! Generates the Tauri context and the permissions of the app's own commands.

/// Every command the front end may call. Tauri turns each name into an `allow-NAME`
/// permission, and `capabilities/main.json` grants the main window exactly this set.
const COMMANDS: &[&str] = &[
    "registry_counts",
    "list_registrations",
    "get_registration",
    "mint_registrations",
    "export_batch",
    "discard_batch",
    "rotate_token",
    "rotate_download_id",
    "patch_sdkconfig",
    "read_metadata_file",
    "get_settings",
    "save_settings",
    "check_esp_idf",
    "list_ports",
    "attach_simulated_boards",
    "start_flash_job",
    "card_registration",
    "next_card_registration",
    "pick_card_registration",
    "list_audit_entries",
    "operator_token_stored",
    "remove_operator_token",
    "test_connection",
    "registry_status",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("failed to generate the Tauri context");
}
