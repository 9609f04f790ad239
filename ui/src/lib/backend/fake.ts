// An in-memory backend for browser tests, screenshots and trying the UI without the Rust side.
// It behaves like the real one where the screens can tell: paging, filters, one-time tokens,
// flash jobs that stream progress, and errors with the same codes and hints.
import type { Backend, FileFilter } from "./backend";
import { BackendError } from "./backend";
import type {
  ActionPermissions,
  AuditRow,
  BenchPort,
  CardClaim,
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
  RegistryStatus,
  RoleName,
  ServerSummary,
  Settings,
  Status,
} from "./bindings";
import {
  FAKE_OPERATORS,
  FAKE_SERVER_URL,
  UNRESTRICTED,
  connect,
  fakeOperatorToken,
  permissionsFor,
  unreachableError,
  validateServerUrl,
} from "./fake-server";
import { APP_HINTS } from "./hints";

export interface FakeOptions {
  /** Registrations the fake registry starts with. */
  rows: number;
  /** Simulated boards on the bench at start. */
  ports: number;
  /** Milliseconds between two progress events of a flash job. */
  tickMs: number;
  /** The registry at start: a file, or the fake server with a stored token. */
  registry: "embedded" | "remote";
  /** The role of the operator whose token is stored when the registry starts remote. */
  role: RoleName;
  /** Whether an OS keyring is available to store operator tokens in. */
  keyring: boolean;
}

export function fakeOptionsFromUrl(search: string): FakeOptions {
  const params = new URLSearchParams(search);
  const number = (name: string, fallback: number) => {
    const value = Number(params.get(name));
    return params.has(name) && Number.isFinite(value) ? value : fallback;
  };
  const role = params.get("role");
  return {
    rows: number("rows", 240),
    ports: number("ports", 3),
    tickMs: number("tickMs", 40),
    registry: params.get("registry") === "remote" ? "remote" : "embedded",
    role: role === "support" || role === "admin" ? role : "technician",
    keyring: params.get("keyring") !== "none",
  };
}

const CHIPS: ChipName[] = ["esp32", "esp32c3", "esp32s3"];
/** The app's own hints, and the hints of the flasher's and workflow's codes the fake sends. */
const HINTS: Record<string, string> = {
  ...APP_HINTS,
  board_stopped_answering:
    "Check the USB cable and the board's power supply (a short data cable straight into the computer or a powered hub), then flash again. The flash may be partly written.",
  idf_not_found:
    "Install ESP-IDF, then either start Node Factory from a shell where ESP-IDF's export.sh has run, or set the ESP-IDF folder in Settings.",
  wrong_chip: "Plug in a board with the chip the registration is for, or pick a registration for the chip on this board.",
};

function commandError(code: string, message: string): CommandError {
  return { code, message, hint: HINTS[code] ?? null, recovered_token: null };
}

function fail(code: string, message: string): never {
  throw new BackendError(commandError(code, message));
}

/** Checks an operator token's shape as the Rust side does. */
function checkOperatorToken(token: string) {
  if (!/^ulop_[A-Za-z0-9_-]{43}$/.test(token)) {
    fail(
      "invalid_input",
      "the operator token is not valid: expected the text that `node-factory operators add` printed, starting with ulop_",
    );
  }
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
  /** Starts or stops the fake registry server, as the health monitor would notice. */
  setServerReachable(reachable: boolean): void;
  /** Operator tokens in the fake keyring, by server URL. */
  readonly storedTokens: Map<string, string>;
}

/** The codes of a server that responded but rejected the app. */
const REFUSED_CODES = ["not_authorised", "forbidden", "too_many_attempts", "keyring_unavailable"];

/** How long a bench card's reservation lasts, as the server's default lease. */
const LEASE_SECONDS = 600;

/** Audit entries one page of the detail panel shows. */
const AUDIT_PAGE_SIZE = 50;

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

  // The fake keyring and registry server.
  const storedTokens = new Map<string, string>();
  let serverReachable = true;
  let generation = 0;
  let server: ServerSummary | null = null;
  if (options.registry === "remote") {
    settings.registry = { kind: "remote", url: FAKE_SERVER_URL, ca_certificate: null };
    const operator = FAKE_OPERATORS.find((candidate) => candidate.role === options.role)!;
    storedTokens.set(FAKE_SERVER_URL, fakeOperatorToken(operator.name));
  }
  const statusHandlers = new Set<(status: RegistryStatus) => void>();

  /** Checks the registry as the health monitor does. */
  function check(): RegistryStatus {
    const registry = settings.registry;
    const base = { generation, location: registry.kind === "remote" ? registry.url : registry.path };
    if (registry.kind === "embedded") {
      return { ...base, remote: false, state: "local", server: null, error: null, permissions: UNRESTRICTED };
    }
    try {
      server = connect(registry.url, registry.ca_certificate, storedTokens.get(registry.url) ?? null, serverReachable);
      return { ...base, remote: true, state: "online", server, error: null, permissions: permissionsFor(server.operator, server.role) };
    } catch (reason) {
      const error = (reason as BackendError).toCommandError();
      return {
        ...base,
        remote: true,
        state: REFUSED_CODES.includes(error.code) ? "refused" : "unreachable",
        server,
        error,
        permissions: server ? permissionsFor(server.operator, server.role) : UNRESTRICTED,
      };
    }
  }

  let status = check();

  function publish(next: RegistryStatus) {
    const changed =
      next.generation !== status.generation ||
      next.state !== status.state ||
      JSON.stringify(next.server) !== JSON.stringify(status.server) ||
      next.error?.code !== status.error?.code;
    status = next;
    if (changed) statusHandlers.forEach((handler) => handler(structuredClone(next)));
  }

  /** Starts a new registry generation after the settings switched registries. */
  function switchRegistry() {
    generation++;
    server = null;
    claims.clear();
    const remote = settings.registry.kind === "remote";
    publish({ ...check(), state: remote ? "checking" : "local", error: null, server: null, permissions: UNRESTRICTED });
    setTimeout(() => publish(check()), options.tickMs);
  }

  /** Contacts the registry as each real command does: a server that is away fails the call. */
  function reachRegistry() {
    if (settings.registry.kind !== "remote") return;
    const checked = check();
    if (checked.state !== "online") throw new BackendError(checked.error ?? unreachableError(settings.registry.url));
  }

  /** Refuses an action the operator's role does not allow, as the server would. */
  function requirePermission(action: keyof ActionPermissions) {
    reachRegistry();
    const refusal = status.permissions[action];
    if (settings.registry.kind === "remote" && refusal) {
      fail("forbidden", `the registry server at ${settings.registry.url} does not allow this: ${refusal}`);
    }
  }

  // The audit log, newest first by node ID, and bench-card claims by port.
  const auditLog = new Map<string, AuditRow[]>();
  let auditCounter = 1_000_000;
  let requestCounter = 0;
  const claims = new Map<string, { nodeId: string; expiresAt: number | null }>();

  function auditEntries(nodeId: string): AuditRow[] {
    let entries = auditLog.get(nodeId);
    if (!entries) {
      const record = find(nodeId);
      entries = [
        {
          id: records.indexOf(record) + 1,
          at: record.row.created_at,
          actor: "local:bench",
          action: "mint",
          request_id: null,
          detail_json: JSON.stringify({ target_chip: record.row.target_chip }),
        },
      ];
      auditLog.set(nodeId, entries);
    }
    return entries;
  }

  function audit(nodeId: string, action: string, detail: unknown = null) {
    const remote = settings.registry.kind === "remote";
    auditEntries(nodeId).unshift({
      id: ++auditCounter,
      at: new Date().toISOString(),
      actor: remote ? (server?.operator ?? "unknown") : "local:bench",
      action,
      request_id: remote ? `req-${(++requestCounter).toString(16).padStart(8, "0")}` : null,
      detail_json: detail === null ? null : JSON.stringify(detail),
    });
  }

  function claimView(port: string, notice: string | null = null): CardClaim {
    const claim = claims.get(port)!;
    const lease =
      claim.expiresAt === null
        ? null
        : {
            holder: `bench-1 ${port}`,
            expires_at: new Date(claim.expiresAt).toISOString(),
            seconds_left: Math.max(0, Math.round((claim.expiresAt - Date.now()) / 1000)),
          };
    return { registration: find(claim.nodeId).row, lease, notice };
  }

  function releaseClaim(port: string) {
    const claim = claims.get(port);
    if (claim?.expiresAt !== null && claim !== undefined && claim.expiresAt > Date.now()) audit(claim.nodeId, "release");
    claims.delete(port);
  }

  function nextClaim(port: string, chip: ChipName | null): CardClaim {
    reachRegistry();
    releaseClaim(port);
    const remote = settings.registry.kind === "remote";
    if (remote && chip === null) {
      fail("chip_unknown", `the chip of the board on ${port} is not known yet, so no registration can be reserved for it`);
    }
    if (remote) requirePermission("reserve");
    const held = new Set([...claims.values()].map((claim) => claim.nodeId));
    const next = records.find(
      (record) => record.row.status === "available" && (chip === null || record.row.target_chip === chip) && !held.has(record.row.node_id),
    );
    if (!next) {
      fail(
        "none_available",
        chip ? `no ${chip} registration is available; mint a batch for ${chip}, or wait for a lease to expire` : "no registration is available; mint a batch first",
      );
    }
    claims.set(port, { nodeId: next.row.node_id, expiresAt: remote ? Date.now() + LEASE_SECONDS * 1000 : null });
    if (remote) audit(next.row.node_id, "reserve", { holder: `bench-1 ${port}` });
    return claimView(port);
  }

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

  const manifestUrl = (id: string) => `${server?.public_url ?? settings.public_url}/firmware/${id}/manifest.json`;
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
      audit(input.node_id, "record_flash", { outcome: "failed", port: input.port, bench_host: "bench-1", error_code: error.code });
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
    audit(input.node_id, "record_flash", { outcome: "success", port: input.port, bench_host: "bench-1", error_code: null });
    // A recorded success ends the card's lease, and the card takes the next registration.
    if (claims.get(input.port)?.nodeId === input.node_id) claims.delete(input.port);
    emit({ kind: "finished", node_id: input.node_id, mac });
  }

  const backend: FakeBackend = {
    exports,
    nextPaths: [],
    storedTokens,

    registryCounts: async () => {
      reachRegistry();
      return counts();
    },
    listRegistrations: async (query) => {
      reachRegistry();
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
      reachRegistry();
      const record = find(nodeId);
      return { registration: record.row, ota_manifest_url: manifestUrl(record.row.download_id), flash_history: record.history };
    },
    rotateToken: async (nodeId) => {
      requirePermission("rotate_token");
      find(nodeId);
      audit(nodeId.trim(), "rotate_token");
      return { ota_token: otaToken() };
    },
    rotateDownloadId: async (nodeId) => {
      requirePermission("rotate_download_id");
      const record = find(nodeId);
      record.row = { ...record.row, download_id: downloadId(random) };
      audit(record.row.node_id, "rotate_download_id", { download_id: record.row.download_id });
      return { download_id: record.row.download_id, ota_manifest_url: manifestUrl(record.row.download_id) };
    },
    patchSdkconfig: async (input) => {
      requirePermission(input.token.kind === "rotate" ? "patch_rotating_token" : "patch_sdkconfig");
      if (input.mark_provisioned) requirePermission("mark_provisioned");
      find(input.node_id);
      if (input.token.kind === "existing" && input.token.ota_token.trim() === "") {
        fail("token_required", `registration ${input.node_id} needs its OTA token`);
      }
      if (input.token.kind === "rotate") audit(input.node_id, "rotate_token");
      if (input.mark_provisioned) audit(input.node_id, "mark_provisioned");
      return { patched: input.paths, rotated_token: input.token.kind === "rotate" ? otaToken() : null };
    },
    listAuditEntries: async (nodeId, beforeId) => {
      reachRegistry();
      const older = auditEntries(nodeId.trim()).filter((entry) => beforeId === null || entry.id < beforeId);
      const entries = older.slice(0, AUDIT_PAGE_SIZE);
      return { entries, next_before_id: older.length > AUDIT_PAGE_SIZE ? entries[entries.length - 1].id : null };
    },

    mintRegistrations: async (input) => {
      requirePermission("mint");
      if (server && input.count > server.max_batch) {
        fail("invalid_input", `invalid count: ${input.count} is more than the server's largest batch of ${server.max_batch}`);
      }
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
    saveSettings: async (next, operatorToken) => {
      if (!/^https?:\/\/[^/?#\s]+/.test(next.public_url)) {
        fail("invalid_input", `invalid public URL "${next.public_url}": expected a URL starting with http:// or https://`);
      }
      const registry = structuredClone(next.registry);
      if (registry.kind === "remote") {
        registry.url = validateServerUrl(registry.url);
        registry.ca_certificate = registry.ca_certificate?.trim() || null;
      }
      const token = operatorToken?.trim() || null;
      if (token !== null) {
        checkOperatorToken(token);
        if (registry.kind !== "remote") {
          fail("invalid_input", "an operator token is only used with a registry server; choose Registry server first");
        }
        if (!options.keyring) {
          fail(
            "keyring_unavailable",
            "failed to store the operator token in the OS keyring: Platform secure storage failure: D-Bus error: The name org.freedesktop.secrets was not provided by any .service files",
          );
        }
        storedTokens.set(registry.url, token);
      }
      const switched = JSON.stringify(registry) !== JSON.stringify(settings.registry) || token !== null;
      settings = { ...structuredClone(next), registry, public_url: next.public_url.replace(/\/+$/, "") };
      if (switched) switchRegistry();
      return structuredClone(settings);
    },
    operatorTokenStored: async (url) => storedTokens.has(validateServerUrl(url)),
    removeOperatorToken: async (url) => {
      const normalized = validateServerUrl(url);
      storedTokens.delete(normalized);
      if (settings.registry.kind === "remote" && settings.registry.url === normalized) switchRegistry();
    },
    testConnection: async (registry, operatorToken) => {
      if (registry.kind !== "remote") fail("invalid_input", "only a registry server can be tested; choose Registry server first");
      const url = validateServerUrl(registry.url);
      const token = operatorToken?.trim() || null;
      if (token !== null) checkOperatorToken(token);
      await delay(options.tickMs);
      return connect(url, registry.ca_certificate?.trim() || null, token ?? storedTokens.get(url) ?? null, serverReachable);
    },
    registryStatus: async () => structuredClone(status),
    onRegistryStatus: async (handler) => {
      statusHandlers.add(handler);
      return () => statusHandlers.delete(handler);
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
    cardRegistration: async (port, chip) => {
      reachRegistry();
      const claim = claims.get(port);
      const record = claim && find(claim.nodeId);
      const fits =
        claim &&
        (claim.expiresAt === null || claim.expiresAt > Date.now()) &&
        (chip === null || record?.row.target_chip === null || record?.row.target_chip === chip);
      return fits ? claimView(port) : nextClaim(port, chip);
    },
    nextCardRegistration: async (port, chip) => nextClaim(port, chip),
    pickCardRegistration: async (port, nodeId) => {
      reachRegistry();
      const record = find(nodeId);
      const kept = claims.get(port)?.nodeId === record.row.node_id ? claims.get(port)!.expiresAt : null;
      if (kept === null) releaseClaim(port);
      claims.set(port, { nodeId: record.row.node_id, expiresAt: kept });
      const notice =
        record.row.status === "available"
          ? null
          : `Registration ${record.row.node_id} is already ${record.row.status}; flashing it again replaces its firmware.`;
      return claimView(port, notice);
    },
    startFlashJob: async (input, onEvent) => {
      reachRegistry();
      find(input.node_id);
      const action = input.token.kind === "rotate" && input.source.kind === "project" ? "flash_rotating_token" : "flash";
      const refusal = status.permissions[action];
      if (settings.registry.kind === "remote" && refusal) {
        const error = commandError("forbidden", `the registry server at ${status.location} does not allow this: ${refusal}`);
        setTimeout(() => onEvent({ kind: "failed", error }));
        return `job-${++jobCounter}`;
      }
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
      releaseClaim(name);
      emitPorts({ added: [], removed: [name] });
    },
    setServerReachable: (reachable) => {
      serverReachable = reachable;
      publish(check());
    },
    requestClose: async () => (closeHandler ? closeHandler() : true),
  };
  return backend;
}
