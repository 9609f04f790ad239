// The backend inside the Tauri window: each method invokes one Rust command.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { open, save } from "@tauri-apps/plugin-dialog";
import type { Backend, FileFilter } from "./backend";
import { toBackendError } from "./backend";
import type { FlashJobEvent, PortsChanged, RegistryStatus } from "./bindings";

/** The app-wide event the Rust side emits when ports appear or go. */
export const PORTS_CHANGED_EVENT = "ports-changed";
/** The app-wide event the Rust side emits when the registry's status changes. */
export const REGISTRY_STATUS_EVENT = "registry-status-changed";

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (reason) {
    throw toBackendError(reason);
  }
}

export function createTauriBackend(): Backend {
  return {
    registryCounts: () => call("registry_counts"),
    listRegistrations: (query) => call("list_registrations", { query }),
    getRegistration: (nodeId) => call("get_registration", { nodeId }),
    rotateToken: (nodeId) => call("rotate_token", { nodeId }),
    rotateDownloadId: (nodeId) => call("rotate_download_id", { nodeId }),
    patchSdkconfig: (input) => call("patch_sdkconfig", { input }),

    mintRegistrations: (input) => call("mint_registrations", { input }),
    exportBatch: (batchId, path, format) => call("export_batch", { batchId, path, format }),
    discardBatch: (batchId) => call("discard_batch", { batchId }),
    readMetadataFile: (path) => call("read_metadata_file", { path }),

    listAuditEntries: (nodeId, beforeId) => call("list_audit_entries", { nodeId, beforeId }),
    getSettings: () => call("get_settings"),
    saveSettings: (settings, operatorToken) => call("save_settings", { settings, operatorToken }),
    operatorTokenStored: (url) => call("operator_token_stored", { url }),
    removeOperatorToken: (url) => call("remove_operator_token", { url }),
    testConnection: (registry, operatorToken) => call("test_connection", { registry, operatorToken }),
    registryStatus: () => call("registry_status"),
    onRegistryStatus: (handler) => listen<RegistryStatus>(REGISTRY_STATUS_EVENT, (event) => handler(event.payload)),
    checkEspIdf: (path) => call("check_esp_idf", { path }),

    listPorts: () => call("list_ports"),
    attachSimulatedBoards: (count, faults) => call("attach_simulated_boards", { count, faults: faults ?? null }),
    cardRegistration: (port, chip) => call("card_registration", { port, chip }),
    nextCardRegistration: (port, chip) => call("next_card_registration", { port, chip }),
    pickCardRegistration: (port, nodeId) => call("pick_card_registration", { port, nodeId }),
    startFlashJob: (input, onEvent) => {
      const channel = new Channel<FlashJobEvent>();
      channel.onmessage = onEvent;
      return call("start_flash_job", { input, onEvent: channel });
    },
    onPortsChanged: (handler) => listen<PortsChanged>(PORTS_CHANGED_EVENT, (event) => handler(event.payload)),

    onCloseRequested: (handler) =>
      getCurrentWindow().onCloseRequested(async (event) => {
        if (!(await handler())) event.preventDefault();
      }),

    pickFolder: async (title) => {
      const picked = await open({ title, directory: true, multiple: false });
      return typeof picked === "string" ? picked : null;
    },
    pickFiles: async (title, filters: FileFilter[], multiple) => {
      const picked = await open({ title, filters, multiple, directory: false });
      if (picked === null) return [];
      return Array.isArray(picked) ? picked : [picked];
    },
    pickSavePath: async (title, defaultName, filters) => (await save({ title, defaultPath: defaultName, filters })) ?? null,
  };
}
