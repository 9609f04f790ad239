// The Generate form's rules: turning strips and sdkconfig overrides into the hardware metadata
// JSON, with the same checks the registry applies, so mistakes show before minting.
import type { ChipName } from "../backend";

/** The highest GPIO of the supported chips (ESP32-S3 has GPIO0 to GPIO48). */
export const MAX_GPIO = 48;
export const MAX_COUNT = 100_000;

/** Keys provisioning writes from the registration; metadata may not override them. */
export const RESERVED_KEYS = new Set([
  "CONFIG_UL_NODE_ID",
  "CONFIG_UL_OTA_MANIFEST_URL",
  "CONFIG_UL_OTA_BEARER_TOKEN",
  "CONFIG_UL_TARGET_CHIP",
  "CONFIG_UL_NODE_METADATA",
  "CONFIG_IDF_TARGET",
]);

export interface StripRow {
  enabled: boolean;
  gpio: string;
  enableGpio: string;
  leds: string;
}

export interface OverrideRow {
  key: string;
  value: string;
}

export interface GenerateForm {
  count: string;
  chip: ChipName;
  strips: StripRow[];
  overrides: OverrideRow[];
}

export type FieldErrors = Record<string, string>;

export interface Validated {
  errors: FieldErrors;
  count: number | null;
  metadata: Record<string, unknown>;
}

export function emptyForm(): GenerateForm {
  return {
    count: "10",
    chip: "esp32c3",
    strips: Array.from({ length: 4 }, (_, index) => ({
      enabled: index === 0,
      gpio: index === 0 ? "5" : "",
      enableGpio: "",
      leds: "",
    })),
    overrides: [],
  };
}

function parseWhole(text: string): number | null {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
}

export function checkGpio(text: string, required: boolean): string | null {
  if (text.trim() === "") return required ? "enter a GPIO number" : null;
  const value = parseWhole(text);
  if (value === null || value > MAX_GPIO) return `GPIO numbers run from 0 to ${MAX_GPIO}`;
  return null;
}

export function checkConfigKey(key: string): string | null {
  if (!/^CONFIG_[A-Z0-9_]+$/.test(key)) return "expected CONFIG_ followed by A-Z, 0-9 or _";
  if (RESERVED_KEYS.has(key)) return "written from the registration; cannot be overridden";
  return null;
}

/** The kind of an sdkconfig value typed as text, as the registry classifies it. */
export type ValueKind = "bool" | "int" | "hex" | "string";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function classifyConfigValue(text: string): { kind: ValueKind } | { error: string } {
  if (text === "y" || text === "n") return { kind: "bool" };
  if (/^0[xX]/.test(text)) {
    return /^0[xX][0-9a-fA-F]+$/.test(text) ? { kind: "hex" } : { error: `"${text}" starts with 0x but is not a hex number` };
  }
  if (/^-?\d+$/.test(text)) {
    const value = BigInt(text);
    return value >= INT64_MIN && value <= INT64_MAX ? { kind: "int" } : { error: `"${text}" is not a 64-bit integer` };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) return { error: "strings may not contain control characters" };
  return { kind: "string" };
}

/** Checks the form and builds the metadata object it describes. */
export function validateForm(form: GenerateForm): Validated {
  const errors: FieldErrors = {};
  const count = parseWhole(form.count);
  if (count === null || count < 1 || count > MAX_COUNT) errors.count = `enter a whole number from 1 to ${MAX_COUNT}`;

  const strips: Record<string, number>[] = [];
  form.strips.forEach((strip, index) => {
    if (!strip.enabled) return;
    const gpioError = checkGpio(strip.gpio, true);
    const enableError = checkGpio(strip.enableGpio, false);
    if (gpioError) errors[`strips.${index}.gpio`] = gpioError;
    if (enableError) errors[`strips.${index}.enableGpio`] = enableError;
    if (!enableError && strip.enableGpio.trim() !== "" && strip.enableGpio.trim() === strip.gpio.trim()) {
      errors[`strips.${index}.enableGpio`] = "the enable line needs its own GPIO";
    }
    const leds = strip.leds.trim() === "" ? null : parseWhole(strip.leds);
    if (strip.leds.trim() !== "" && (leds === null || leds < 1)) errors[`strips.${index}.leds`] = "enter a whole number of LEDs";
    if (gpioError) return;

    const entry: Record<string, number> = { index, gpio: Number(strip.gpio.trim()) };
    if (!enableError && strip.enableGpio.trim() !== "") entry.enable_gpio = Number(strip.enableGpio.trim());
    if (leds !== null && leds >= 1) entry.leds = leds;
    strips.push(entry);
  });

  const used = new Map<number, number>();
  for (const strip of strips) {
    for (const gpio of [strip.gpio, strip.enable_gpio].filter((value) => value !== undefined)) {
      const owner = used.get(gpio);
      if (owner !== undefined && owner !== strip.index) errors[`strips.${strip.index}.gpio`] = `GPIO ${gpio} is already used by strip ${owner + 1}`;
      used.set(gpio, strip.index);
    }
  }

  const sdkconfig: Record<string, string> = {};
  form.overrides.forEach((row, index) => {
    const key = row.key.trim();
    const keyError = checkConfigKey(key);
    if (keyError) errors[`overrides.${index}.key`] = keyError;
    else if (key in sdkconfig) errors[`overrides.${index}.key`] = `${key} is set twice`;
    const classified = classifyConfigValue(row.value);
    if ("error" in classified) errors[`overrides.${index}.value`] = classified.error;
    if (!keyError && !("error" in classified)) sdkconfig[key] = row.value;
  });

  const metadata: Record<string, unknown> = { target: form.chip };
  if (strips.length > 0) metadata.strips = strips;
  if (Object.keys(sdkconfig).length > 0) metadata.sdkconfig = sdkconfig;
  return { errors, count: errors.count ? null : count, metadata };
}
