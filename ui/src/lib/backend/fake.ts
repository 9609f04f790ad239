// An in-memory backend for browser tests, screenshots and trying the UI without the Rust side.
// It behaves like the real one where the screens can tell: paging, filters, one-time tokens,
// flash jobs that stream progress, and errors with the same codes and hints.
import type { Backend, FileFilter } from "./backend";
import { BackendError } from "./backend";
import type {
  BenchPort,
  ChipName,
  CommandError,
  Counts,
  FlashAttempt,
  FlashJobEvent,
  FlashJobInput,
  MintedRow,
  PortsChanged,
  RegistrationQuery,
  RegistrationRow,
  Settings,
  Status,
} from "./bindings";

export interface FakeOptions {
  /** Registrations the fake registry starts with. */
  rows: number;
  /** Simulated boards on the bench at start. */
  ports: number;
  /** Milliseconds between two progress events of a flash job. */
  tickMs: number;
}

export function fakeOptionsFromUrl(search: string): FakeOptions {
  const params = new URLSearchParams(search);
  const number = (name: string, fallback: number) => {
    const value = Number(params.get(name));
    return params.has(name) && Number.isFinite(value) ? value : fallback;
  };
  return { rows: number("rows", 240), ports: number("ports", 3), tickMs: number("tickMs", 40) };
}

const CHIPS: ChipName[] = ["esp32", "esp32c3", "esp32s3"];
const HINTS: Record<string, string> = {
  board_stopped_answering:
    "Check the USB cable and the board's power supply (a short data cable straight into the computer or a powered hub), then flash again. The flash may be partly written.",
  registration_not_found: "Search the Registrations screen for the node ID, or mint new registrations.",
  token_required: "Paste the OTA token from the export file, or choose to rotate the token.",
  idf_not_found:
    "Install ESP-IDF, then either start Node Factory from a shell where ESP-IDF's export.sh has run, or set the ESP-IDF folder in Settings.",
  wrong_chip: "Plug in a board with the chip the registration is for, or pick a registration for the chip on this board.",
};

function fail(code: string, message: string): never {
  const error: CommandError = { code, message, hint: HINTS[code] ?? null, recovered_token: null };
  throw new BackendError(error);
}

/** A small deterministic generator, so screenshots and tests see the same data each run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomText(random: () => number, alphabet: string, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
  return text;
}

const BASE36 = "abcdefghijklmnopqrstuvwxyz0123456789";
const HEX = "0123456789abcdef";
const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function downloadId(random: () => number): string {
  const hex = randomText(random, HEX, 32);
  return `${hex.slice(0, 12)}4${hex.slice(13, 16)}${"89ab"[Math.floor(random() * 4)]}${hex.slice(17)}`;
}

function otaToken(): string {
  const random = seeded(Math.floor(Math.random() * 2 ** 31));
  return `ulota_${randomText(random, TOKEN_ALPHABET, 43)}`;
}

function macFor(port: string): string {
  const random = seeded([...port].reduce((sum, c) => sum * 31 + c.charCodeAt(0), 7));
  return ["58", "cf", "79", randomText(random, HEX, 2), randomText(random, HEX, 2), randomText(random, HEX, 2)].join(":");
}

interface FakeRecord {
  row: RegistrationRow;
  history: FlashAttempt[];
  tokenHash: string;
}

export interface FakeBackend extends Backend {
  /** Plugs a board in, as the port watcher would report it. */
  plugPort(port: BenchPort): void;
  unplugPort(name: string): void;
  /** Asks the UI whether the window may close, as the window's close button does. */
  requestClose(): Promise<boolean>;
  /** Export files written so far, by path. */
  readonly exports: Map<string, { batchId: string; format: string }>;
  /** Paths the next native dialogs return; `null` acts as a cancelled dialog. */
  nextPaths: (string | null)[];
}

export function createFakeBackend(options: FakeOptions): FakeBackend {
  const random = seeded(20260101);
  const records: FakeRecord[] = [];
  const byId = new Map<string, FakeRecord>();
  const start = Date.UTC(2026, 0, 5, 8, 0, 0);

  function addRecord(row: RegistrationRow): FakeRecord {
    const record = { row, history: [], tokenHash: randomText(random, HEX, 64) };
    records.push(record);
    byId.set(row.node_id, record);
    return record;
  }

  for (let i = 0; i < options.rows; i++) {
    const roll = random();
    // About 60 % available, 30 % provisioned and 10 % assigned, like a busy registry.
    let status: Status = "assigned";
    if (roll < 0.6) status = "available";
    else if (roll < 0.9) status = "provisioned";
    const house = status === "assigned" ? `house-${Math.floor(random() * 900) + 100}` : null;
    addRecord({
      node_id: randomText(random, BASE36, 16),
      download_id: downloadId(random),
      status,
      target_chip: CHIPS[i % 3],
      created_at: new Date(start + i * 60_000).toISOString(),
      provisioned_at: status === "available" ? null : new Date(start + i * 60_000 + 3_600_000).toISOString(),
      assignment: house ? `house ${house} / room ${1 + (i % 7)}` : null,
      house_slug: house,
      metadata_json: JSON.stringify({ target: CHIPS[i % 3], strips: [{ index: 0, gpio: 5, enable_gpio: 4 }] }),
      has_legacy_token: false,
    });
  }

  let settings: Settings = {
    registry: { kind: "embedded", path: "/home/bench/.local/share/node-factory/registry.sqlite3" },
    firmware_dir: "/home/bench/.local/share/node-factory/firmware",
    public_url: "http://127.0.0.1:8080",
    esp_idf_path: "",
    default_baud: 460800,
    reset_mode: "auto",
  };

  const ports: BenchPort[] = [];
  const simulated = (index: number): BenchPort => ({
    name: `/dev/pts/${10 + index}`,
    bridge: "Simulated",
    vid: null,
    pid: null,
    serial_number: null,
    simulated: true,
    chip: CHIPS[index % 3],
  });
  for (let i = 0; i < options.ports; i++) ports.push(simulated(i));

  const portHandlers = new Set<(change: PortsChanged) => void>();
  let closeHandler: (() => Promise<boolean>) | null = null;
  const batches = new Map<string, MintedRow[]>();
  const exports = new Map<string, { batchId: string; format: string }>();
  let jobCounter = 0;

  const manifestUrl = (id: string) => `${settings.public_url}/firmware/${id}/manifest.json`;
  const find = (nodeId: string) =>
    byId.get(nodeId.trim()) ?? fail("registration_not_found", `no registration has node ID ${nodeId.trim()}`);
  const emitPorts = (change: PortsChanged) => portHandlers.forEach((handler) => handler(change));
  const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  function matches(record: FakeRecord, query: RegistrationQuery): boolean {
    const row = record.row;
    if (query.status && row.status !== query.status) return false;
    if (query.target_chip && row.target_chip !== query.target_chip) return false;
    const search = query.search?.trim().toLowerCase();
    if (!search) return true;
    return (
      row.node_id.includes(search) ||
      row.download_id.includes(search) ||
      (row.house_slug ?? "").includes(search) ||
      record.history.some((attempt) => (attempt.mac ?? "").includes(search))
    );
  }

  function counts(): Counts {
    const byChip = new Map<string, number>();
    let available = 0;
    let assigned = 0;
    let provisioned = 0;
    for (const { row } of records) {
      if (row.status === "available") {
        available++;
        const chip = row.target_chip ?? "unspecified";
        byChip.set(chip, (byChip.get(chip) ?? 0) + 1);
      } else if (row.status === "assigned") assigned++;
      else provisioned++;
    }
    return {
      total: records.length,
      available,
      assigned,
      provisioned,
      available_by_chip: [...byChip].sort().map(([chip, count]) => ({ chip, available: count })),
    };
  }

  async function runJob(input: FlashJobInput, emit: (event: FlashJobEvent) => void) {
    const tick = () => delay(options.tickMs);
    const record = byId.get(input.node_id)!;
    const port = ports.find((candidate) => candidate.name === input.port);
    const chip = port?.chip ?? record.row.target_chip ?? "esp32c3";
    const mac = macFor(input.port);
    const failAt = port?.name.includes("stall") ? 0.4 : null;
    const failJob = (error: CommandError) => {
      record.history.unshift(attempt(false, error));
      emit({ kind: "failed", error });
    };
    const attempt = (succeeded: boolean, error?: CommandError): FlashAttempt => ({
      attempted_at: new Date().toISOString(),
      port: input.port,
      bench_host: "bench-1",
      chip,
      chip_revision: "v0.4",
      mac,
      flash_size: 4194304,
      succeeded,
      error_code: error?.code ?? null,
      error_message: error?.message ?? null,
      regions: [],
    });

    emit({ kind: "stage", stage: "preparing" });
    await tick();
    if (input.source.kind === "project") {
      if (settings.esp_idf_path === "" && input.source.path.includes("no-idf")) {
        return failJob({
          code: "idf_not_found",
          message: "idf.py was not found (searched idf.py on PATH)",
          hint: HINTS.idf_not_found,
          recovered_token: null,
        });
      }
      emit({ kind: "stage", stage: "building" });
      for (const line of [
        `Executing action: all (aliases: build)`,
        `Running cmake in directory ${input.source.path}/build-${input.node_id}`,
        `-- IDF_TARGET is ${chip}`,
        `[1/3] Building C object esp-idf/main/CMakeFiles/__idf_main.dir/main.c.obj`,
        `[2/3] Linking CXX executable ultralights-node.elf`,
        `[3/3] Generating binary image from built executable`,
        `Project build complete.`,
      ]) {
        emit({ kind: "log", line });
        await tick();
      }
    }
    emit({ kind: "stage", stage: "connecting" });
    emit({ kind: "log", line: `Connecting to ${input.port} at 115200 baud` });
    await tick();
    emit({ kind: "chip_detected", chip, revision: "v0.4", mac, flash_size: 4194304 });
    if (chip !== record.row.target_chip && record.row.target_chip !== null) {
      return failJob({
        code: "wrong_chip",
        message: `port ${input.port} has an ${chip} but registration ${input.node_id} is for an ${record.row.target_chip}`,
        hint: HINTS.wrong_chip,
        recovered_token: null,
      });
    }
    if (input.erase_all) {
      emit({ kind: "stage", stage: "erasing" });
      await tick();
    }
    const regions = [
      { offset: chip === "esp32" ? 0x1000 : 0, size: 20_480, name: "bootloader.bin" },
      { offset: 0x8000, size: 3_072, name: "partition-table.bin" },
      { offset: 0x10000, size: 917_504, name: "ultralights-node.bin" },
    ];
    emit({ kind: "stage", stage: "writing" });
    for (const [index, region] of regions.entries()) {
      emit({ kind: "region_started", index, ...region });
      const steps = index === 2 ? 20 : 3;
      for (let step = 1; step <= steps; step++) {
        if (failAt !== null && index === 2 && step / steps > failAt) {
          return failJob({
            code: "board_stopped_answering",
            message: `the board on ${input.port} stopped answering while writing at 0x${(region.offset + (region.size * (step - 1)) / steps).toString(16)}`,
            hint: HINTS.board_stopped_answering,
            recovered_token: null,
          });
        }
        emit({ kind: "region_progress", index, written: Math.round((region.size * step) / steps), total: region.size });
        await tick();
      }
      emit({ kind: "region_done", index });
    }
    emit({ kind: "stage", stage: "verifying" });
    await tick();
    emit({ kind: "stage", stage: "recording" });
    record.row = { ...record.row, status: "provisioned", provisioned_at: new Date().toISOString() };
    record.history.unshift(attempt(true));
    emit({ kind: "finished", node_id: input.node_id, mac });
  }

  const backend: FakeBackend = {
    exports,
    nextPaths: [],

    registryCounts: async () => counts(),
    listRegistrations: async (query) => {
      const matching = records.filter((record) => matches(record, query));
      const key = query.sort;
      const direction = query.descending ? -1 : 1;
      const value = (row: RegistrationRow): string =>
        key === "node_id"
          ? row.node_id
          : key === "status"
            ? row.status
            : key === "target_chip"
              ? (row.target_chip ?? "")
              : key === "provisioned_at"
                ? (row.provisioned_at ?? "")
                : row.created_at;
      matching.sort((a, b) => direction * (value(a.row) < value(b.row) ? -1 : value(a.row) > value(b.row) ? 1 : 0));
      return {
        items: matching.slice(query.offset, query.offset + query.limit).map((record) => record.row),
        total: matching.length,
      };
    },
    getRegistration: async (nodeId) => {
      const record = find(nodeId);
      return { registration: record.row, ota_manifest_url: manifestUrl(record.row.download_id), flash_history: record.history };
    },
    rotateToken: async (nodeId) => {
      find(nodeId);
      return { ota_token: otaToken() };
    },
    rotateDownloadId: async (nodeId) => {
      const record = find(nodeId);
      record.row = { ...record.row, download_id: downloadId(random) };
      return { download_id: record.row.download_id, ota_manifest_url: manifestUrl(record.row.download_id) };
    },
    patchSdkconfig: async (input) => {
      find(input.node_id);
      if (input.token.kind === "existing" && input.token.ota_token.trim() === "") {
        fail("token_required", `registration ${input.node_id} needs its OTA token`);
      }
      return { patched: input.paths, rotated_token: input.token.kind === "rotate" ? otaToken() : null };
    },

    mintRegistrations: async (input) => {
      if (!Number.isInteger(input.count) || input.count < 1 || input.count > 100_000) {
        fail("invalid_input", `invalid count: ${input.count} is out of range; mint between 1 and 100000 registrations per batch`);
      }
      const rows: MintedRow[] = [];
      for (let i = 0; i < input.count; i++) {
        const record = addRecord({
          node_id: randomText(random, BASE36, 16),
          download_id: downloadId(random),
          status: "available",
          target_chip: input.target_chip,
          created_at: new Date().toISOString(),
          provisioned_at: null,
          assignment: null,
          house_slug: null,
          metadata_json: input.metadata_json,
          has_legacy_token: false,
        });
        rows.push({ registration: record.row, ota_token: otaToken(), ota_manifest_url: manifestUrl(record.row.download_id) });
      }
      const batchId = `batch-${batches.size + 1}`;
      batches.set(batchId, rows);
      return { batch_id: batchId, rows };
    },
    exportBatch: async (batchId, path, format) => {
      if (!batches.has(batchId)) fail("batch_not_found", `minted batch ${batchId} is no longer held`);
      exports.set(path, { batchId, format });
    },
    discardBatch: async (batchId) => {
      batches.delete(batchId);
    },
    readMetadataFile: async (path) => {
      if (!path.endsWith(".json")) fail("invalid_input", `invalid hardware metadata: ${path} is not valid JSON`);
      const text = JSON.stringify({ target: "esp32s3", strips: [{ index: 0, gpio: 18, enable_gpio: 17, leds: 120 }] }, null, 2);
      return { text, node_count: 1 };
    },

    getSettings: async () => structuredClone(settings),
    saveSettings: async (next) => {
      if (!/^https?:\/\/[^/?#\s]+/.test(next.public_url)) {
        fail("invalid_input", `invalid public URL "${next.public_url}": expected a URL starting with http:// or https://`);
      }
      settings = { ...structuredClone(next), public_url: next.public_url.replace(/\/+$/, "") };
      return structuredClone(settings);
    },
    checkEspIdf: async (path) =>
      path.trim() === ""
        ? { found: false, idf_py: null, detail: "idf.py is not on the PATH; install ESP-IDF and set its folder here" }
        : { found: true, idf_py: `${path}/tools/idf.py`, detail: `found ${path}/tools/idf.py` },

    listPorts: async () => structuredClone(ports),
    attachSimulatedBoards: async (count, faults) => {
      const added: BenchPort[] = [];
      for (let i = 0; i < count; i++) {
        const port = simulated(ports.length + i);
        // The fake marks a pulled-cable board in its name; its jobs fail mid-write.
        if (faults?.some((fault) => fault.startsWith("stall-after"))) port.name += "-stall";
        added.push(port);
      }
      ports.push(...added);
      emitPorts({ added, removed: [] });
      return added;
    },
    startFlashJob: async (input, onEvent) => {
      find(input.node_id);
      if (input.token.kind === "existing" && input.token.ota_token.trim() === "") {
        fail("token_required", `registration ${input.node_id} needs its OTA token`);
      }
      const jobId = `job-${++jobCounter}`;
      void runJob(input, onEvent);
      return jobId;
    },
    onPortsChanged: async (handler) => {
      portHandlers.add(handler);
      return () => portHandlers.delete(handler);
    },
    onCloseRequested: async (handler) => {
      closeHandler = handler;
      return () => {
        closeHandler = null;
      };
    },

    pickFolder: async () => backend.nextPaths.shift() ?? null,
    pickFiles: async (_title: string, _filters: FileFilter[]) => {
      const path = backend.nextPaths.shift();
      return path ? [path] : [];
    },
    pickSavePath: async (_title, defaultName) => {
      const path = backend.nextPaths.shift();
      return path === undefined ? `/tmp/exports/${defaultName}` : path;
    },

    plugPort: (port) => {
      ports.push(port);
      emitPorts({ added: [port], removed: [] });
    },
    unplugPort: (name) => {
      const index = ports.findIndex((port) => port.name === name);
      if (index >= 0) ports.splice(index, 1);
      emitPorts({ added: [], removed: [name] });
    },
    requestClose: async () => (closeHandler ? closeHandler() : true),
  };
  return backend;
}
