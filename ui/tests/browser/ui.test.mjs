// Browser tests of the built UI in Chromium, on the fake backend. They also write the
// screenshots in docs/screenshots.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHarness } from "./harness.mjs";

let harness;
before(async () => (harness = await startHarness()));
after(async () => harness?.close());

const card = (page, port) => page.locator(`article[data-port="${port}"]`);

describe("generate screen", () => {
  it("validates the form before minting", async () => {
    const { page, errors } = await harness.open();
    await page.click("[data-screen=generate]");

    await page.fill("[data-testid=count]", "0");
    await page.fill("[aria-label='Strip 1 data GPIO']", "49");
    await page.click("text=Add override");
    await page.fill("[aria-label='Override 1 key']", "CONFIG_bad");
    await page.fill("[aria-label='Override 1 value']", "0xZZ");

    assert.match(await page.textContent(".generate-form"), /enter a whole number from 1 to 100000/);
    assert.match(await page.textContent(".generate-form"), /GPIO numbers run from 0 to 48/);
    assert.match(await page.textContent(".generate-form"), /expected CONFIG_ followed by A-Z/);
    assert.match(await page.textContent(".generate-form"), /not a hex number/);
    assert.equal(await page.isDisabled("[data-testid=mint]"), true);
    await harness.screenshot(page, "generate-validation");

    await page.fill("[data-testid=count]", "3");
    await page.fill("[aria-label='Strip 1 data GPIO']", "5");
    await page.fill("[aria-label='Strip 1 enable GPIO']", "4");
    await page.fill("[aria-label='Override 1 key']", "CONFIG_UL_STRIP_COUNT");
    await page.fill("[aria-label='Override 1 value']", "1");
    assert.equal(await page.isDisabled("[data-testid=mint]"), false);

    const preview = JSON.parse(await page.textContent("[data-testid=metadata-preview]"));
    assert.deepEqual(preview, {
      target: "esp32c3",
      strips: [{ index: 0, gpio: 5, enable_gpio: 4 }],
      sdkconfig: { CONFIG_UL_STRIP_COUNT: "1" },
    });
    await harness.screenshot(page, "generate");
    assert.deepEqual(errors, []);
  });

  it("warns before unsaved tokens are closed", async () => {
    const { page, errors } = await harness.open();
    await page.click("[data-screen=generate]");
    await page.fill("[data-testid=count]", "3");
    await page.click("[data-testid=mint]");
    await page.waitForSelector("[data-testid=mint-results]");
    const tokens = await page.locator(".minted code.token").allTextContents();
    assert.equal(tokens.length, 3);
    assert.ok(tokens.every((token) => token.startsWith("ulota_")));
    await page.waitForSelector("[data-testid=unsaved-warning]");
    await harness.screenshot(page, "generate-results");

    // Navigating away shows a warning first, and staying keeps the tokens on screen.
    await page.click("[data-screen=bench]");
    await page.waitForSelector("[data-testid=leave-warning]");
    await harness.screenshot(page, "generate-unsaved-warning");
    await page.click("text=Stay and save");
    assert.equal(await page.locator("[data-testid=mint-results]").count(), 1);

    // Closing the window shows the warning too, and the window stays open when the user stays.
    const closing = page.evaluate(() => window.fakeBackend.requestClose());
    await page.waitForSelector("[data-testid=leave-warning]");
    await page.click("text=Stay and save");
    assert.equal(await closing, false);

    // Once saved, leaving needs no confirmation.
    await page.click("text=Save as CSV…");
    await page.waitForSelector("[data-testid=saved-notice]");
    const exported = await page.evaluate(() => [...window.fakeBackend.exports.entries()]);
    assert.equal(exported.length, 1);
    assert.equal(exported[0][1].format, "csv");
    assert.equal(await page.evaluate(() => window.fakeBackend.requestClose()), true);
    await page.click("[data-screen=bench]");
    assert.equal(await page.locator("[data-testid=leave-warning]").count(), 0);
    assert.equal(await page.getAttribute("[data-screen=bench]", "aria-current"), "page");
    assert.deepEqual(errors, []);
  });

  it("discards tokens when the user agrees", async () => {
    const { page } = await harness.open();
    await page.click("[data-screen=generate]");
    await page.click("[data-testid=mint]");
    await page.waitForSelector("[data-testid=mint-results]");
    const closing = page.evaluate(() => window.fakeBackend.requestClose());
    await page.click("text=Discard tokens");
    assert.equal(await closing, true);
    assert.equal(await page.locator("[data-testid=mint-results]").count(), 0);
  });
});

describe("registrations screen", () => {
  it("filters, searches and scrolls 100,000 registrations", async () => {
    const { page, errors } = await harness.open("?rows=100000&ports=0");
    await page.click("[data-screen=registrations]");
    await page.waitForFunction(() => document.querySelector("[data-testid=match-count]")?.textContent === "100,000 matching");
    await page.waitForSelector(".table-row[data-node-id]");

    // Jump to the end: the last rows arrive from their own page.
    await page.evaluate(() => {
      const viewport = document.querySelector("[data-testid=table-viewport]");
      viewport.scrollTop = viewport.scrollHeight;
      viewport.dispatchEvent(new Event("scroll"));
    });
    await page.waitForSelector(".table-row[aria-rowindex='100000'][data-node-id]");
    const rendered = await page.locator(".table-row").count();
    assert.ok(rendered < 100, `only visible rows are rendered, found ${rendered}`);

    await page.selectOption("[data-testid=status-filter]", "available");
    await page.waitForFunction(() => {
      const text = document.querySelector("[data-testid=match-count]")?.textContent ?? "";
      return text !== "100,000 matching" && text !== "0 matching";
    });
    const statuses = await page.locator(".table-row .status").allTextContents();
    assert.ok(statuses.length > 0 && statuses.every((status) => status === "available"));

    await page.selectOption("[data-testid=status-filter]", "");
    const nodeId = await page.getAttribute(".table-row[aria-rowindex='1']", "data-node-id");
    await page.fill("[data-testid=registration-search]", nodeId);
    await page.waitForFunction(() => document.querySelector("[data-testid=match-count]")?.textContent === "1 matching");
    await page.click(`.table-row[data-node-id="${nodeId}"]`);
    await page.waitForSelector("[data-testid=detail-metadata]");
    assert.match(await page.textContent("[data-testid=detail-panel]"), new RegExp(nodeId));
    assert.deepEqual(JSON.parse(await page.textContent("[data-testid=detail-metadata]")).strips[0].gpio, 5);

    await page.fill("[data-testid=registration-search]", "");
    await page.waitForFunction(() => document.querySelector("[data-testid=match-count]")?.textContent === "100,000 matching");
    await harness.screenshot(page, "registrations");
    assert.deepEqual(errors, []);
  });

  it("sorts by node ID", async () => {
    const { page } = await harness.open("?rows=500&ports=0");
    await page.click("[data-screen=registrations]");
    await page.waitForSelector(".table-row[data-node-id]");
    await page.click("role=columnheader[name=/Node ID/]");
    await page.waitForFunction(() => document.querySelector("[role=columnheader][aria-sort=ascending]")?.textContent?.startsWith("Node ID"));
    await page.waitForTimeout(100);
    const ids = await page.locator(".table-row[data-node-id]").evaluateAll((rows) => rows.slice(0, 10).map((row) => row.dataset.nodeId));
    assert.deepEqual(ids, [...ids].sort());
  });

  it("shows a rotated token once with a warning", async () => {
    const { page } = await harness.open("?rows=50&ports=0");
    await page.click("[data-screen=registrations]");
    await page.click(".table-row[aria-rowindex='1']");
    await page.click("text=Rotate token…");
    await page.click("text=Rotate the token");
    await page.waitForSelector("[data-testid=token-reveal]");
    assert.match(await page.textContent("[data-testid=token-value]"), /^ulota_/);
    assert.match(await page.textContent("[data-testid=token-reveal]"), /shown only now/);
    await harness.screenshot(page, "registrations-rotated-token");
  });
});

describe("bench screen", () => {
  it("renders flash progress and the green result", async () => {
    const { page, errors } = await harness.open("?ports=3&tickMs=120");
    const port = "/dev/pts/11";
    await card(page, port).locator("[aria-label='Firmware path']").fill("/home/bench/ultralights-node");
    await card(page, port).locator("button.flash").click();

    await card(page, port).locator("[data-testid=stage]", { hasText: "Building firmware" }).waitFor();
    await card(page, port).locator("summary").click();
    await card(page, port).locator("[data-testid=log]", { hasText: "Project build complete." }).waitFor();
    await card(page, port).locator("[data-testid=stage]", { hasText: "Writing" }).waitFor();
    await card(page, port).locator("[data-testid=region]").nth(2).locator(".muted", { hasText: /KiB\/s/ }).waitFor();
    assert.equal(await card(page, port).locator("[data-testid=region]").count(), 3);
    const line = await card(page, port).locator("[data-testid=region]").nth(2).textContent();
    assert.match(line, /ultralights-node\.bin @ 0x10000/);
    assert.match(line, /KiB \/ 896\.0 KiB/);
    assert.match(line, /\/s/);
    await harness.screenshot(page, "bench-flashing");

    await card(page, port).locator("[data-testid=result-ok]").waitFor({ timeout: 20_000 });
    assert.match(await card(page, port).locator("[data-testid=result-mac]").textContent(), /^58:cf:79:/);
    assert.equal(await card(page, port).evaluate((node) => node.classList.contains("success")), true);
    assert.deepEqual(errors, []);
  });

  it("shows the error and its hint when the cable is pulled", async () => {
    const { page, errors } = await harness.open("?ports=1&tickMs=20");
    await page.selectOption("[aria-label='Simulated board behaviour']", "stall-after=32");
    await page.click("[data-testid=attach-simulated]");
    const port = "/dev/pts/11-stall";
    await card(page, port).locator("[data-testid=card-registration] code").waitFor();
    await card(page, port).locator("[aria-label='Firmware path']").fill("");
    assert.equal(await card(page, port).locator("[data-testid=flash-missing]").textContent(), "Choose the firmware first.");
    assert.equal(await card(page, port).locator("button.flash").isDisabled(), true);
    await card(page, port).locator("[aria-label='Firmware path']").fill("/home/bench/build");
    await card(page, port).locator("select").selectOption("build_folder");
    assert.equal(await card(page, port).locator("[data-testid=flash-missing]").count(), 0);
    await card(page, port).locator("button.flash").click();

    const failed = card(page, port).locator("[data-testid=result-failed]");
    await failed.waitFor({ timeout: 20_000 });
    assert.match(await failed.locator(".error-title").textContent(), /Board stopped answering/);
    assert.match(await failed.locator(".error-message").textContent(), /stopped answering while writing/);
    assert.match(await failed.locator(".error-hint").textContent(), /Check the USB cable/);
    assert.equal(await card(page, port).getByRole("button", { name: "Retry" }).isEnabled(), true);
    await harness.screenshot(page, "bench-failed");
    assert.deepEqual(errors, []);
  });

  it("says when ESP-IDF is missing", async () => {
    const { page } = await harness.open("?ports=2&tickMs=10");
    const port = "/dev/pts/11";
    await card(page, port).locator("[data-testid=card-registration] code").waitFor();
    await card(page, port).locator("[aria-label='Firmware path']").fill("/home/bench/no-idf/ultralights-node");
    await card(page, port).locator("button.flash").click();

    const failed = card(page, port).locator("[data-testid=result-failed]");
    await failed.waitFor();
    assert.equal(await failed.locator(".error-title").textContent(), "ESP-IDF not found");
    assert.match(await failed.locator(".error-hint").textContent(), /set the ESP-IDF folder in Settings/);
  });

  it("follows boards being plugged in and pulled out", async () => {
    const { page } = await harness.open("?ports=0");
    await page.waitForSelector("[data-testid=no-ports]");
    await page.evaluate(() =>
      window.fakeBackend.plugPort({
        name: "/dev/ttyUSB0",
        bridge: "CP210x",
        vid: 0x10c4,
        pid: 0xea60,
        serial_number: "0001",
        simulated: false,
        chip: null,
      }),
    );
    await card(page, "/dev/ttyUSB0").waitFor();
    assert.match(await card(page, "/dev/ttyUSB0").textContent(), /CP210x/);
    await page.evaluate(() => window.fakeBackend.unplugPort("/dev/ttyUSB0"));
    await page.waitForSelector("[data-testid=no-ports]");
  });

  it("selects a scanned node ID", async () => {
    const { page } = await harness.open("?rows=30&ports=1");
    const detail = await page.evaluate(() =>
      window.fakeBackend.listRegistrations({ status: "available", target_chip: "esp32", search: null, sort: "created_at", descending: true, offset: 0, limit: 1 }),
    );
    const nodeId = detail.items[0].node_id;
    const search = card(page, "/dev/pts/10").locator("input[type=search]");
    await search.pressSequentially(nodeId);
    await search.press("Enter");
    await card(page, "/dev/pts/10").locator("[data-testid=card-registration] code", { hasText: nodeId }).waitFor();
    await harness.screenshot(page, "bench");
  });
});

describe("settings screen", () => {
  it("shows the validation error of a bad public URL", async () => {
    const { page } = await harness.open("?ports=0");
    await page.click("[data-screen=settings]");
    await page.fill("[data-testid=public-url]", "ota.example.com");
    await page.click("[data-testid=save-settings]");
    await page.waitForSelector(".error-box[data-code=invalid_input]");
    await page.fill("[data-testid=public-url]", "https://ota.example.com/");
    await page.click("[data-testid=save-settings]");
    await page.waitForSelector("[data-testid=settings-saved]");
    assert.equal(await page.inputValue("[data-testid=public-url]"), "https://ota.example.com");
    await harness.screenshot(page, "settings");
  });
});
