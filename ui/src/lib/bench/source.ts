// The firmware source last used on this bench, so a new card starts with it: a technician
// usually flashes one firmware onto many boards.
import type { FirmwareSource } from "../backend";

const STORAGE_KEY = "node-factory.last-firmware-source";

export function lastSource(): FirmwareSource {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    if (stored && ["project", "build_folder", "elf"].includes(stored.kind) && typeof stored.path === "string") return stored;
  } catch {
    // A damaged entry is replaced on the next flash.
  }
  return { kind: "project", path: "" };
}

export function rememberSource(source: FirmwareSource): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(source));
  } catch {
    // Storage can be full or disabled; the card then starts empty next time.
  }
}
