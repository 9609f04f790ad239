// What the UI calls each error code. The Rust side sends the detailed message and the
// operator hint; this table gives the short title an operator reads first.
import type { BackendError, CommandError } from "../backend";

export const ERROR_TITLES: Record<string, string> = {
  invalid_input: "Invalid input",
  registration_not_found: "Registration not found",
  conflict: "Already exists",
  database_failed: "Registry file failed",
  schema_too_new: "Registry file is from a newer version",
  data_corrupt: "Registry data is corrupt",
  remote_registry_unavailable: "Remote registry not available",
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
  esp_idf_missing: "ESP-IDF not found",
  build_failed: "Firmware build failed",
  port_busy: "Port is busy",
  port_permission_denied: "No permission for the port",
  connect_failed: "Board did not answer",
  port_disconnected: "Board disconnected",
  chip_mismatch: "Wrong chip on the port",
  verify_failed: "Verification failed",
  cancelled: "Cancelled",
  job_not_found: "Flash job not found",
  workflow_unavailable: "Flashing not available",
  simulator_unavailable: "Simulator not available",
  internal: "Unexpected error",
};

export function errorTitle(code: string): string {
  return ERROR_TITLES[code] ?? "Error";
}

export type ShownError = Pick<CommandError, "code" | "message" | "hint">;

export function asShownError(error: BackendError | CommandError): ShownError {
  return { code: error.code, message: error.message, hint: error.hint };
}
