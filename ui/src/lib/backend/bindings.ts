// Generated from src-tauri/src/dto.rs and settings.rs by ts-rs; do not edit.
// Regenerate with: UPDATE_BINDINGS=1 cargo test -p node-factory-app --test bindings

export type CommandError = { code: string, message: string, 
/**
 * The operator's next step, from the crate that failed or from [`hint_for`], when one is known.
 */
hint: string | null, 
/**
 * A token the failed operation minted before it failed. It exists nowhere else, so the
 * UI shows it once like any new token.
 */
recovered_token: string | null, };

export type ChipName = "esp32" | "esp32c3" | "esp32s3";

export type Status = "available" | "assigned" | "provisioned";

export type RegistrationRow = { node_id: string, download_id: string, status: Status, target_chip: ChipName | null, created_at: string, provisioned_at: string | null, 
/**
 * A short description such as `house maple-12 / room 3`, when assigned.
 */
assignment: string | null, house_slug: string | null, 
/**
 * The hardware metadata exactly as stored, usually a JSON object.
 */
metadata_json: string | null, has_legacy_token: boolean, };

export type SortColumn = "created_at" | "node_id" | "status" | "target_chip" | "provisioned_at";

export type RegistrationQuery = { status: Status | null, target_chip: ChipName | null, 
/**
 * Part of a node ID, download ID, house slug or MAC address.
 */
search: string | null, sort: SortColumn, descending: boolean, offset: number, limit: number, };

export type RegistrationPage = { items: Array<RegistrationRow>, 
/**
 * Matches across all pages.
 */
total: number, };

export type Counts = { total: number, available: number, assigned: number, provisioned: number, available_by_chip: Array<ChipCount>, };

export type ChipCount = { chip: string, available: number, };

export type FlashAttempt = { attempted_at: string, port: string, bench_host: string, chip: ChipName | null, chip_revision: string | null, mac: string | null, flash_size: number | null, succeeded: boolean, error_code: string | null, error_message: string | null, regions: Array<FlashedRegion>, };

export type FlashedRegion = { offset: number, size: number, sha256: string, };

export type RegistrationDetail = { registration: RegistrationRow, ota_manifest_url: string, 
/**
 * Newest first.
 */
flash_history: Array<FlashAttempt>, };

export type MintInput = { count: number, target_chip: ChipName | null, metadata_json: string | null, };

export type MintedRow = { registration: RegistrationRow, ota_token: string, ota_manifest_url: string, };

export type MintedBatch = { batch_id: string, rows: Array<MintedRow>, };

export type ExportFormat = "json" | "csv";

export type ImportedMetadata = { text: string, 
/**
 * 1 for one object, or the length of a list of objects.
 */
node_count: number, };

export type RotatedToken = { ota_token: string, };

export type RotatedDownloadId = { download_id: string, ota_manifest_url: string, };

export type TokenChoice = { "kind": "rotate" } | { "kind": "existing", ota_token: string, };

export type PatchInput = { node_id: string, paths: Array<string>, token: TokenChoice, 
/**
 * Mark the registration provisioned once the files are written; off when the files are
 * only staged for a later build.
 */
mark_provisioned: boolean, };

export type PatchOutcome = { patched: Array<string>, 
/**
 * The new token when the patch rotated it: shown once.
 */
rotated_token: string | null, };

export type EspIdfStatus = { found: boolean, idf_py: string | null, detail: string, };

export type BenchPort = { 
/**
 * The device path, such as `/dev/ttyUSB0`; also the port's identity.
 */
name: string, 
/**
 * The USB bridge, such as `CP210x`, `CH340` or `USB-Serial-JTAG`, when known.
 */
bridge: string | null, vid: number | null, pid: number | null, serial_number: string | null, 
/**
 * Set for boards from the built-in simulator.
 */
simulated: boolean, 
/**
 * The chip the simulator carries; real boards report theirs once probed by a flash job.
 */
chip: ChipName | null, };

export type PortsChanged = { added: Array<BenchPort>, removed: Array<string>, };

export type FirmwareSource = { "kind": "project", path: string, } | { "kind": "build_folder", path: string, } | { "kind": "elf", path: string, };

export type FlashJobInput = { port: string, node_id: string, source: FirmwareSource, token: TokenChoice, 
/**
 * Erase the whole flash before writing, so nothing from earlier firmware stays.
 */
erase_all: boolean, 
/**
 * Keep the per-job build folder and patched sdkconfig, which contain the OTA token.
 */
keep_build_files: boolean, };

export type JobStage = "preparing" | "building" | "connecting" | "erasing" | "writing" | "verifying" | "recording";

export type FlashJobEvent = { "kind": "stage", stage: JobStage, } | { "kind": "log", line: string, } | { "kind": "chip_detected", chip: ChipName, revision: string | null, mac: string, flash_size: number | null, } | { "kind": "region_started", index: number, offset: number, size: number, name: string | null, } | { "kind": "region_progress", index: number, written: number, total: number, } | { "kind": "region_skipped", index: number, } | { "kind": "region_done", index: number, } | { "kind": "finished", node_id: string, mac: string, } | { "kind": "failed", error: CommandError, };

export type Settings = { registry: RegistrySettings, 
/**
 * Where OTA images are published, one folder per download ID.
 */
firmware_dir: string, 
/**
 * The base of each node's OTA manifest URL.
 */
public_url: string, 
/**
 * The ESP-IDF folder (the one holding `tools/idf.py`); empty means `idf.py` on the PATH.
 */
esp_idf_path: string, 
/**
 * The baud rate of the flash phase after the loader connected at 115200.
 */
default_baud: number, reset_mode: ResetMode, };

export type RegistrySettings = { "kind": "embedded", path: string, } | { "kind": "remote", url: string, 
/**
 * A PEM file of extra CA certificates to trust, for a server with a self-signed
 * certificate or one from a private CA; `null` trusts the platform's CA store only.
 */
ca_certificate: string | null, };

export type ResetMode = "auto" | "no_reset";

export type RoleName = "admin" | "technician" | "support";

export type ServerSummary = { 
/**
 * The server's Node Factory version.
 */
version: string, 
/**
 * The URL nodes download firmware from; manifest URLs written into firmware start with it.
 */
public_url: string, operator: string, role: RoleName, 
/**
 * The largest batch one mint may ask for.
 */
max_batch: number, 
/**
 * The lease length, in seconds, of a bench card's reservation.
 */
default_lease_seconds: number, };

export type ConnectionState = "local" | "checking" | "online" | "unreachable" | "refused";

export type ActionPermissions = { 
/**
 * Flashing a build folder or an ELF, or a project with the minted token.
 */
flash: string | null, 
/**
 * Flashing a project with a newly minted token.
 */
flash_rotating_token: string | null, 
/**
 * Reserving the next available registration for a bench card.
 */
reserve: string | null, mint: string | null, rotate_token: string | null, rotate_download_id: string | null, 
/**
 * Patching sdkconfig files with the minted token.
 */
patch_sdkconfig: string | null, 
/**
 * Patching sdkconfig files with a newly minted token.
 */
patch_rotating_token: string | null, mark_provisioned: string | null, };

export type RegistryStatus = { 
/**
 * Counts the registry changes in Settings since the app started, so that views holding
 * data of an earlier registry reload.
 */
generation: number, remote: boolean, 
/**
 * The registry file's path or the server's URL.
 */
location: string, state: ConnectionState, 
/**
 * The server's facts from the last successful check; kept while it is unreachable.
 */
server: ServerSummary | null, 
/**
 * The reason the server is unreachable or rejected the app.
 */
error: CommandError | null, permissions: ActionPermissions, };

export type LeaseView = { 
/**
 * The lease holder: this computer's host name and the card's port.
 */
holder: string, 
/**
 * RFC 3339, in UTC, by the server's clock.
 */
expires_at: string, 
/**
 * Seconds until the lease expires, by this computer's clock at the time of the reply.
 */
seconds_left: number, };

export type CardClaim = { registration: RegistrationRow, lease: LeaseView | null, 
/**
 * Something the technician should know, such as a registration that is already provisioned.
 */
notice: string | null, };

export type AuditRow = { id: number, 
/**
 * RFC 3339, in UTC.
 */
at: string, 
/**
 * The operator on a registry server, or `local:<OS user>` for a registry file.
 */
actor: string, 
/**
 * Such as `mint`, `reserve`, `record_flash` or `rotate_token`.
 */
action: string, 
/**
 * The server's request ID, which its log also holds.
 */
request_id: string | null, 
/**
 * Facts about the change as JSON text, such as a flash outcome. Never a secret.
 */
detail_json: string | null, };

export type AuditPage = { entries: Array<AuditRow>, 
/**
 * The entry ID to pass to get the next, older page; `null` on the last page.
 */
next_before_id: number | null, };
