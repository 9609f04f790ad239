import { describe, expect, it } from "vitest";
import { checkConfigKey, classifyConfigValue, emptyForm, validateForm } from "../../src/lib/generate/metadata";

describe("validateForm", () => {
  it("builds metadata from strips and overrides", () => {
    const form = emptyForm();
    form.strips[0] = { enabled: true, gpio: "5", enableGpio: "4", leds: "60" };
    form.strips[2] = { enabled: true, gpio: "18", enableGpio: "", leds: "" };
    form.overrides = [{ key: "CONFIG_LOG_DEFAULT_LEVEL", value: "3" }];

    const result = validateForm(form);

    expect(result.errors).toEqual({});
    expect(result.count).toBe(10);
    expect(result.metadata).toEqual({
      target: "esp32c3",
      strips: [
        { index: 0, gpio: 5, enable_gpio: 4, leds: 60 },
        { index: 2, gpio: 18 },
      ],
      sdkconfig: { CONFIG_LOG_DEFAULT_LEVEL: "3" },
    });
  });

  it.each([
    ["0", "count"],
    ["100001", "count"],
    ["ten", "count"],
  ])("rejects count %s", (count, field) => {
    const form = { ...emptyForm(), count };
    expect(validateForm(form).errors[field]).toMatch(/1 to 100000/);
  });

  it("rejects GPIO out of range and shared pins", () => {
    const form = emptyForm();
    form.strips[0] = { enabled: true, gpio: "49", enableGpio: "", leds: "" };
    form.strips[1] = { enabled: true, gpio: "7", enableGpio: "7", leds: "" };
    form.strips[2] = { enabled: true, gpio: "", enableGpio: "", leds: "" };
    const errors = validateForm(form).errors;
    expect(errors["strips.0.gpio"]).toMatch(/0 to 48/);
    expect(errors["strips.1.enableGpio"]).toMatch(/own GPIO/);
    expect(errors["strips.2.gpio"]).toMatch(/enter a GPIO/);
  });

  it("rejects a GPIO used by two strips", () => {
    const form = emptyForm();
    form.strips[0] = { enabled: true, gpio: "5", enableGpio: "", leds: "" };
    form.strips[1] = { enabled: true, gpio: "5", enableGpio: "", leds: "" };
    expect(validateForm(form).errors["strips.1.gpio"]).toMatch(/already used by strip 1/);
  });

  it("rejects duplicate and reserved override keys", () => {
    const form = emptyForm();
    form.overrides = [
      { key: "CONFIG_A", value: "y" },
      { key: "CONFIG_A", value: "n" },
      { key: "CONFIG_UL_NODE_ID", value: "x" },
    ];
    const errors = validateForm(form).errors;
    expect(errors["overrides.1.key"]).toMatch(/set twice/);
    expect(errors["overrides.2.key"]).toMatch(/cannot be overridden/);
  });
});

describe("checkConfigKey", () => {
  it.each(["CONFIG_X", "CONFIG_UL_STRIP_1_GPIO"])("accepts %s", (key) => expect(checkConfigKey(key)).toBeNull());
  it.each(["CONFIG_", "config_x", "CONFIG_a", "CONFIG_X-Y", "X"])("rejects %s", (key) => expect(checkConfigKey(key)).not.toBeNull());
});

describe("classifyConfigValue", () => {
  it.each([
    ["y", "bool"],
    ["n", "bool"],
    ["42", "int"],
    ["-7", "int"],
    ["0x1F", "hex"],
    ["hello world", "string"],
    ["", "string"],
  ])("classifies %j as %s", (text, kind) => expect(classifyConfigValue(text)).toEqual({ kind }));

  it.each([
    ["0xZZ", /hex/],
    ["9223372036854775808", /64-bit/],
    ["a\nb", /control characters/],
    ["tab\there", /control characters/],
  ])("rejects %j", (text, message) => {
    const result = classifyConfigValue(text);
    expect("error" in result && result.error).toMatch(message);
  });
});
