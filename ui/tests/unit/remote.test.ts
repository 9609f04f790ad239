import { afterEach, describe, expect, it, vi } from "vitest";
import { flushSync, mount, unmount, type Component } from "svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { BenchPort, RegistryStatus } from "../../src/lib/backend";
import { createFakeBackend, type FakeBackend, type FakeOptions } from "../../src/lib/backend/fake";
import { FAKE_SERVER_URL, UNRESTRICTED, fakeOperatorToken } from "../../src/lib/backend/fake-server";
import { createTauriBackend, REGISTRY_STATUS_EVENT } from "../../src/lib/backend/tauri";
import { app } from "../../src/lib/app.svelte";
import PortCard from "../../src/lib/bench/PortCard.svelte";
import DetailPanel from "../../src/lib/registrations/DetailPanel.svelte";
import { describeAuditEntry } from "../../src/lib/registrations/audit";
import { registryBlock, refusalText } from "../../src/lib/registry/status";
import SettingsScreen from "../../src/lib/settings/SettingsScreen.svelte";

const TOM = fakeOperatorToken("tom");

let mounted: ReturnType<typeof mount> | null = null;
let stopStatus: (() => void) | null = null;

afterEach(() => {
  if (mounted) unmount(mounted);
  mounted = null;
  stopStatus?.();
  stopStatus = null;
  app.backend = null;
  app.status = null;
  document.body.innerHTML = "";
  clearMocks();
});

/** Creates a fake backend wired into the app state, as App.svelte wires the real one. */
async function start(options: Partial<FakeOptions> = {}): Promise<FakeBackend> {
  const backend = createFakeBackend({ rows: 30, ports: 0, tickMs: 1, registry: "embedded", role: "technician", keyring: true, ...options });
  stopStatus = await backend.onRegistryStatus((status) => app.setStatus(status));
  app.status = await backend.registryStatus();
  app.backend = backend;
  return backend;
}

function show<Props extends Record<string, unknown>>(component: Component<Props>, props: Props) {
  const target = document.createElement("div");
  document.body.append(target);
  mounted = mount(component, { target, props });
  flushSync();
  return target;
}

function type(target: HTMLElement, testId: string, value: string) {
  const input = target.querySelector<HTMLInputElement>(`[data-testid=${testId}]`)!;
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
}

function click(target: HTMLElement, selector: string) {
  target.querySelector<HTMLElement>(selector)!.click();
  flushSync();
}

async function appears(target: HTMLElement, selector: string): Promise<HTMLElement> {
  return vi.waitFor(() => {
    const found = target.querySelector<HTMLElement>(selector);
    if (!found) throw new Error(`nothing matches ${selector}`);
    return found;
  });
}

const simulatedPort: BenchPort = {
  name: "/dev/pts/10",
  bridge: "Simulated",
  vid: null,
  pid: null,
  serial_number: null,
  simulated: true,
  chip: "esp32c3",
};

describe("registry status", () => {
  const base: RegistryStatus = {
    generation: 0,
    remote: true,
    location: FAKE_SERVER_URL,
    state: "online",
    server: null,
    error: null,
    permissions: UNRESTRICTED,
  };

  it("blocks registry work only while the server cannot be used", () => {
    expect(registryBlock({ ...base, state: "online" })).toBeNull();
    expect(registryBlock({ ...base, remote: false, state: "local" })).toBeNull();
    expect(registryBlock({ ...base, state: "checking" })?.title).toContain(FAKE_SERVER_URL);

    const error = { code: "server_unreachable", message: "connection refused", hint: "Check the server.", recovered_token: null };
    const unreachable = registryBlock({ ...base, state: "unreachable", error });
    expect(unreachable?.title).toBe(`The registry server ${FAKE_SERVER_URL} is unreachable.`);
    expect(unreachable?.next).toBe("Check the server.");
    expect(unreachable?.error?.code).toBe("server_unreachable");

    const refused = registryBlock({ ...base, state: "refused", error: { ...error, code: "not_authorised", hint: null } });
    expect(refused?.next).toContain("Settings");
  });

  it("words refusals as sentences", () => {
    expect(refusalText("operator sue has the support role, which may not mint registrations")).toBe(
      "Operator sue has the support role, which may not mint registrations.",
    );
  });
});

describe("audit entries", () => {
  const entry = { id: 1, at: "2026-01-05T08:00:00Z", actor: "tom", action: "record_flash", request_id: "req-1", detail_json: null };

  it("names the action and the flash outcome", () => {
    expect(describeAuditEntry({ ...entry, detail_json: JSON.stringify({ outcome: "success", error_code: null }) })).toBe(
      "Flash recorded: success",
    );
    expect(describeAuditEntry({ ...entry, detail_json: JSON.stringify({ outcome: "failed", error_code: "wrong_chip" }) })).toBe(
      "Flash recorded: failed (wrong_chip)",
    );
    expect(describeAuditEntry({ ...entry, action: "reserve", detail_json: JSON.stringify({ holder: "bench-3 /dev/ttyUSB0" }) })).toBe(
      "Reserved for bench-3 /dev/ttyUSB0",
    );
    expect(describeAuditEntry({ ...entry, action: "future_action", detail_json: "{" })).toBe("future_action");
  });
});

describe("Tauri backend for a registry server", () => {
  it("invokes the remote commands with camelCase arguments", async () => {
    const calls: { command: string; args: unknown }[] = [];
    mockIPC((command, args) => {
      calls.push({ command, args });
      return command === "operator_token_stored" ? true : null;
    });
    const backend = createTauriBackend();
    const registry = { kind: "remote" as const, url: FAKE_SERVER_URL, ca_certificate: null };

    await backend.testConnection(registry, TOM);
    expect(await backend.operatorTokenStored(FAKE_SERVER_URL)).toBe(true);
    await backend.cardRegistration("/dev/ttyUSB0", "esp32c3");
    await backend.pickCardRegistration("/dev/ttyUSB0", "abcdefghijklmnop");
    await backend.listAuditEntries("abcdefghijklmnop", 42);

    expect(calls).toEqual([
      { command: "test_connection", args: { registry, operatorToken: TOM } },
      { command: "operator_token_stored", args: { url: FAKE_SERVER_URL } },
      { command: "card_registration", args: { port: "/dev/ttyUSB0", chip: "esp32c3" } },
      { command: "pick_card_registration", args: { port: "/dev/ttyUSB0", nodeId: "abcdefghijklmnop" } },
      { command: "list_audit_entries", args: { nodeId: "abcdefghijklmnop", beforeId: 42 } },
    ]);
  });

  it("delivers registry status events", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const received: RegistryStatus[] = [];
    const stop = await createTauriBackend().onRegistryStatus((status) => received.push(status));
    await emit(REGISTRY_STATUS_EVENT, { state: "unreachable" });
    expect(received.map((status) => status.state)).toEqual(["unreachable"]);
    stop();
  });
});

describe("settings screen with a registry server", () => {
  async function openRemoteForm(options: Partial<FakeOptions> = {}) {
    const backend = await start(options);
    const target = show(SettingsScreen, { backend });
    await appears(target, "[data-testid=save-settings]");
    click(target, "[data-testid=registry-kind-remote]");
    type(target, "server-url", FAKE_SERVER_URL);
    return { backend, target };
  }

  it("shows the server, operator and role of a test connection", async () => {
    const { target } = await openRemoteForm();
    type(target, "operator-token", TOM);
    click(target, "[data-testid=test-connection]");
    const result = await appears(target, "[data-testid=connection-result]");
    expect(result.textContent).toContain("signed in as tom (Technician)");
    expect(result.textContent).toContain("Node Factory 0.1.0");
    expect(result.textContent).toContain("https://ota.factory.example");
  });

  it.each([
    ["https://unreachable.example", TOM, "server_unreachable"],
    ["https://slow.example", TOM, "server_timed_out"],
    ["https://self-signed.example", TOM, "bad_certificate"],
    ["https://locked.example", TOM, "too_many_attempts"],
    ["https://forbidden.example", TOM, "forbidden"],
    [FAKE_SERVER_URL, fakeOperatorToken("mallory"), "not_authorised"],
  ])("reports %s with token failing as %s", async (url, token, code) => {
    const { target } = await openRemoteForm();
    type(target, "server-url", url);
    type(target, "operator-token", token);
    click(target, "[data-testid=test-connection]");
    const failure = await appears(target, "[data-testid=connection-error] .error-box");
    expect(failure.dataset.code).toBe(code);
    expect(failure.querySelector(".error-code")?.textContent).toBe(code);
    expect(failure.querySelector(".error-hint")?.textContent?.length).toBeGreaterThan(10);
  });

  it("stores the token in the keyring and never shows it again", async () => {
    const { backend, target } = await openRemoteForm();
    type(target, "operator-token", TOM);
    click(target, "[data-testid=save-settings]");
    await appears(target, "[data-testid=token-stored]");
    expect(backend.storedTokens.get(FAKE_SERVER_URL)).toBe(TOM);
    expect(target.querySelector("[data-testid=operator-token]")).toBeNull();
    expect(target.innerHTML).not.toContain(TOM);
    await vi.waitFor(() => expect(app.status?.state).toBe("online"));
    expect(app.status?.server?.operator).toBe("tom");

    click(target, "[data-testid=remove-token]");
    await appears(target, "[data-testid=operator-token]");
    expect(backend.storedTokens.size).toBe(0);
    await vi.waitFor(() => expect(app.status?.state).toBe("refused"));
  });

  it("refuses to save the token without a keyring", async () => {
    const { backend, target } = await openRemoteForm({ keyring: false });
    type(target, "operator-token", TOM);
    click(target, "[data-testid=save-settings]");
    const failure = await appears(target, ".error-box[data-code=keyring_unavailable]");
    expect(failure.textContent).toContain("OS keyring");
    expect(target.querySelector("[data-testid=settings-saved]")).toBeNull();
    expect(backend.storedTokens.size).toBe(0);
    expect(app.status?.remote).toBe(false);
  });
});

describe("bench card with a registry server", () => {
  it("shows its reservation's lease", async () => {
    const backend = await start({ registry: "remote" });
    const target = show(PortCard, { backend, port: simulatedPort, unplugged: false, ondismiss: () => undefined });
    const lease = await appears(target, "[data-testid=card-lease]");
    expect(lease.textContent).toMatch(/Reserved for this bench until \d\d:\d\d/);
    expect(lease.title).toBe("Lease holder: bench-1 /dev/pts/10");
  });

  it("disables Flash with a banner while the server is unreachable", async () => {
    const backend = await start({ registry: "remote" });
    const target = show(PortCard, { backend, port: simulatedPort, unplugged: false, ondismiss: () => undefined });
    await appears(target, "[data-testid=card-lease]");
    const path = target.querySelector<HTMLInputElement>("[aria-label='Firmware path']")!;
    path.value = "/home/bench/build";
    path.dispatchEvent(new Event("input", { bubbles: true }));
    type(target, "card-token", "ulota_minted");
    const flash = target.querySelector<HTMLButtonElement>("button.flash")!;
    expect(flash.disabled).toBe(false);

    backend.setServerReachable(false);
    flushSync();
    const banner = await appears(target, "[data-testid=registry-banner]");
    expect(banner.textContent).toContain(`The registry server ${FAKE_SERVER_URL} is unreachable.`);
    expect(banner.textContent).toContain("server_unreachable");
    expect(flash.disabled).toBe(true);
    expect(target.querySelector("[data-testid=flash-reason]")?.textContent).toContain("Flashing is paused");

    backend.setServerReachable(true);
    flushSync();
    await vi.waitFor(() => expect(target.querySelector("[data-testid=registry-banner]")).toBeNull());
    expect(flash.disabled).toBe(false);
  });

  it("tells a support operator why Flash is disabled", async () => {
    const backend = await start({ registry: "remote", role: "support" });
    const target = show(PortCard, { backend, port: simulatedPort, unplugged: false, ondismiss: () => undefined });
    const reason = await appears(target, "[data-testid=flash-reason]");
    expect(reason.textContent).toBe(
      "Operator sue has the support role, which may not record flash attempts; ask an admin for a role that may.",
    );
    expect(target.querySelector<HTMLButtonElement>("button.flash")!.disabled).toBe(true);
  });

  it("keeps a technician from rotating the token", async () => {
    const backend = await start({ registry: "remote", role: "technician" });
    const target = show(PortCard, { backend, port: simulatedPort, unplugged: false, ondismiss: () => undefined });
    await appears(target, "[data-testid=card-lease]");
    const rotate = target.querySelector<HTMLInputElement>("[data-testid=token-rotate]")!;
    expect(rotate.disabled).toBe(true);
    expect(rotate.checked).toBe(false);
    expect(rotate.closest("label")?.title).toContain("may not rotate tokens");
  });
});

describe("registration detail", () => {
  it("lists the audit log newest first with who and request ID", async () => {
    const backend = await start({ registry: "remote", role: "admin" });
    const { items } = await backend.listRegistrations({
      status: "available",
      target_chip: null,
      search: null,
      sort: "created_at",
      descending: false,
      offset: 0,
      limit: 1,
    });
    const nodeId = items[0].node_id;
    await backend.rotateToken(nodeId);
    await backend.rotateDownloadId(nodeId);

    const target = show(DetailPanel, { backend, nodeId, onclose: () => undefined, onchanged: () => undefined });
    const log = await appears(target, "[data-testid=audit-log]");
    const rows = [...log.querySelectorAll("tbody tr")].map((row) => ({
      action: (row as HTMLElement).dataset.action,
      actor: row.querySelector(".actor")?.textContent,
      request: row.querySelector(".request-id")?.textContent,
    }));
    expect(rows.map((row) => row.action)).toEqual(["rotate_download_id", "rotate_token", "mint"]);
    expect(rows[0].actor).toBe("ada");
    expect(rows[0].request).toMatch(/^req-/);
  });

  it("disables rotation for a technician with the reason", async () => {
    const backend = await start({ registry: "remote", role: "technician" });
    const nodeId = (await backend.cardRegistration("/dev/pts/1", "esp32")).registration.node_id;
    const target = show(DetailPanel, { backend, nodeId, onclose: () => undefined, onchanged: () => undefined });
    const rotate = await appears(target, "[data-testid=rotate-token]");
    expect((rotate as HTMLButtonElement).disabled).toBe(true);
    expect(target.querySelector("[data-testid=rotate-refusal]")?.textContent).toContain(
      "has the technician role, which may not rotate tokens and download IDs",
    );
  });
});
