import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { BackendError, toBackendError } from "../../src/lib/backend";
import { createTauriBackend } from "../../src/lib/backend/tauri";

afterEach(() => clearMocks());

describe("Tauri backend", () => {
  it("invokes each command with camelCase arguments", async () => {
    const calls: { command: string; args: unknown }[] = [];
    mockIPC((command, args) => {
      calls.push({ command, args });
      if (command === "registry_counts") return { total: 1, available: 1, assigned: 0, provisioned: 0, available_by_chip: [] };
      return null;
    });
    const backend = createTauriBackend();

    expect((await backend.registryCounts()).total).toBe(1);
    await backend.getRegistration("abcdefghijklmnop");
    await backend.exportBatch("batch-1", "/tmp/out.csv", "csv");

    expect(calls).toEqual([
      { command: "registry_counts", args: {} },
      { command: "get_registration", args: { nodeId: "abcdefghijklmnop" } },
      { command: "export_batch", args: { batchId: "batch-1", path: "/tmp/out.csv", format: "csv" } },
    ]);
  });

  it("turns a rejected command into a BackendError with code and hint", async () => {
    mockIPC(() => {
      throw { code: "registration_not_found", message: "no registration has node ID x", hint: "Search for it.", recovered_token: null };
    });
    const error = await createTauriBackend()
      .getRegistration("x")
      .catch((reason) => reason);
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe("registration_not_found");
    expect(error.hint).toBe("Search for it.");
  });
});

describe("toBackendError", () => {
  it("wraps plain errors as internal", () => {
    const error = toBackendError(new Error("boom"));
    expect(error.code).toBe("internal");
    expect(error.message).toBe("boom");
  });
});
