// Short titles of the error codes, the first line an operator reads. The Rust side sends the
// detailed message and the operator hint.
import type { BackendError, CommandError } from "../backend";

export const ERROR_TITLES: Record<string, string> = {
  invalid_input: "Invalid input",
  registration_not_found: "Registration not found",
  conflict: "Already exists",
  database_failed: "Registry file failed",
  schema_too_new: "Registry file is from a newer version",
  data_corrupt: "Registry data is corrupt",
  registry_file_missing: "Registry file missing",
  registry_file_access: "Registry file not accessible",
  download_id_not_found: "Download ID not found",
  server_unreachable: "Registry server unreachable",
  server_timed_out: "Registry server timed out",
  bad_certificate: "Server certificate not trusted",
  not_authorised: "Operator token not accepted",
  forbidden: "Not allowed for your role",
  too_many_attempts: "Too many failed sign-ins",
  rejected: "Request rejected by the server",
  server_failed: "Registry server failed",
  bad_response: "Unreadable server response",
  idempotency_key_refused: "Batch cannot be repeated",
  lease_not_held: "Reservation ended",
  none_available: "No registration available",
  firmware_move_failed: "Firmware folder not moved",
  keyring_unavailable: "No keyring for the token",
  keyring_failed: "Keyring failed",
  ca_certificate_invalid: "CA certificate file invalid",
  chip_unknown: "Board chip not known",
  settings_invalid: "Settings file is invalid",
  settings_write_failed: "Settings could not be saved",
  target_mismatch: "Project is for another chip",
  file_not_found: "sdkconfig not found",
  sdkconfig_invalid: "sdkconfig is invalid",
  token_mismatch: "Wrong OTA token",
  token_required: "OTA token needed",
  no_target_chip: "No target chip",
  metadata_invalid: "Metadata file is invalid",
  io_failed: "File operation failed",
  export_failed: "Export failed",
  batch_not_found: "Tokens already discarded",
  file_read_failed: "File could not be read",
  idf_not_found: "ESP-IDF not found",
  build_failed: "Firmware build failed",
  record_failed: "Flashed, but not recorded",
  not_in_download_mode: "Board not in download mode",
  wrong_chip: "Wrong chip on the port",
  no_flash_chip: "No flash chip answered",
  board_stopped_answering: "Board stopped answering",
  verify_failed: "Verification failed",
  port_permission_denied: "No permission for the port",
  port_busy: "Port is busy",
  port_gone: "Port is gone",
  plan_invalid: "Firmware files are invalid",
  file_missing: "Firmware file missing",
  regions_overlap: "Firmware regions overlap",
  image_too_large: "Firmware too large for the flash",
  plan_chip_mismatch: "Firmware built for another chip",
  device_error: "Board reported an error",
  unknown: "Flashing failed",
  simulator_failed: "Simulated board failed to start",
  internal: "Unexpected error",
};

export function errorTitle(code: string): string {
  return ERROR_TITLES[code] ?? "Error";
}

export type ShownError = Pick<CommandError, "code" | "message" | "hint">;

export function asShownError(error: BackendError | CommandError): ShownError {
  return { code: error.code, message: error.message, hint: error.hint };
}
