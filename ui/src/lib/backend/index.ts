// Picks the backend: the Rust side inside the Tauri window, the in-memory fake in a plain
// browser (browser tests, screenshots, trying the UI with `vite`).
import type { Backend } from "./backend";

export type { Backend } from "./backend";
export { BackendError, toBackendError } from "./backend";
export type * from "./bindings";

export function insideTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export async function loadBackend(): Promise<Backend> {
  if (insideTauri()) {
    const { createTauriBackend } = await import("./tauri");
    return createTauriBackend();
  }
  const { createFakeBackend, fakeOptionsFromUrl } = await import("./fake");
  const fake = createFakeBackend(fakeOptionsFromUrl(window.location.search));
  // Browser tests drive the fake through this handle: plug ports, request a window close.
  (window as unknown as { fakeBackend: unknown }).fakeBackend = fake;
  return fake;
}
