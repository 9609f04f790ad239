// Number, size, rate and time formatting for progress and tables.

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}

export function formatRate(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null || !Number.isFinite(bytesPerSecond)) return "–";
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "–";
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return minutes > 0 ? `${minutes} min ${whole % 60} s` : `${whole} s`;
}

export function formatHex(value: number): string {
  return `0x${value.toString(16).padStart(5, "0")}`;
}

/** Formats a timestamp as local date and time, to the minute, or to the second with `seconds`. */
export function formatTime(rfc3339: string | null, seconds = false): string {
  if (!rfc3339) return "–";
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  const pad = (n: number) => String(n).padStart(2, "0");
  const minutes = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return seconds ? `${minutes}:${pad(date.getSeconds())}` : minutes;
}

/** Formats a timestamp as local time of day, to the minute. */
export function formatClock(rfc3339: string): string {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

export const CHIP_LABELS: Record<string, string> = {
  esp32: "ESP32",
  esp32c3: "ESP32-C3",
  esp32s3: "ESP32-S3",
  unspecified: "No chip",
};

export function chipLabel(chip: string | null): string {
  return chip ? (CHIP_LABELS[chip] ?? chip) : "Unknown chip";
}

/** Pretty-prints JSON text, or returns it unchanged when it does not parse. */
export function prettyJson(text: string | null): string {
  if (!text) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
