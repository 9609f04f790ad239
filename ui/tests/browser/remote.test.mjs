// Browser tests of the built UI against the fake backend's registry server: the Settings
// screen's connection test and token, the unreachable banner, leases, role limits and the
// audit log. They also write the screenshots of the remote screens in docs/screenshots.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHarness } from "./harness.mjs";

const SERVER = "https://registry.factory.example";
/** The fake server's token of operator `name`, in the shape of a real operator token. */
const token = (name) => `ulop_${`${name}-fake-operator-token-`.repeat(8).slice(0, 43)}`;

let harness;
before(async () => (harness = await startHarness()));
after(async () => harness?.close());

const card = (page, port) => page.locator(`article[data-port="${port}"]`);

/** Scrolls the screen back to its top, where a screenshot should start. */
const scrollToTop = (page) => page.evaluate(() => document.querySelector("main.content")?.scrollTo(0, 0));

async function openRemoteSettings(query = "?ports=0") {
  const opened = await harness.open(query);
  await opened.page.click("[data-screen=settings]");
  await opened.page.check("[data-testid=registry-kind-remote]");
  await opened.page.fill("[data-testid=server-url]", SERVER);
  return opened;
}

describe("settings screen with a registry server", () => {
  it("tests the connection, stores the token and switches registries", async () => {
    const { page, errors } = await openRemoteSettings();
    await page.fill("[data-testid=operator-token]", token("tom"));
    await page.click("[data-testid=test-connection]");
    const result = page.locator("[data-testid=connection-result]");
    await result.waitFor();
    assert.match(await result.textContent(), /Node Factory 0\.1\.0 · signed in as tom \(Technician\)/);
    assert.match(await result.textContent(), /https:\/\/ota\.factory\.example/);

    await page.click("[data-testid=save-settings]");
    await page.waitForSelector("[data-testid=token-stored]");
    assert.equal(await page.locator("[data-testid=operator-token]").count(), 0);
    await page.waitForSelector("[data-testid=registry-indicator][data-state=online]");
    assert.match(await page.textContent("[data-testid=registry-indicator]"), /tom · Technician/);
    assert.match(await page.textContent("[data-testid=registry-status-line]"), /signed in as tom/);
    const html = await page.content();
    assert.equal(html.includes(token("tom")), false, "the page holds the stored token");
    await scrollToTop(page);
    await harness.screenshot(page, "settings-remote");

    // Back to the registry file, without a restart.
    await page.check("[data-testid=registry-kind-embedded]");
    await page.click("[data-testid=save-settings]");
    await page.waitForSelector("[data-testid=registry-indicator][data-state=local]");
    assert.deepEqual(errors, []);
  });

  it("reports each failure kind with its code and hint", async () => {
    const { page } = await openRemoteSettings();
    const cases = [
      ["https://unreachable.example", token("tom"), "server_unreachable", /Registry server unreachable/],
      ["https://slow.example", token("tom"), "server_timed_out", /Registry server timed out/],
      ["https://self-signed.example", token("tom"), "bad_certificate", /Server certificate not trusted/],
      ["https://locked.example", token("tom"), "too_many_attempts", /Too many failed sign-ins/],
      ["https://forbidden.example", token("tom"), "forbidden", /Not allowed for your role/],
      [SERVER, token("mallory"), "not_authorised", /Operator token not accepted/],
    ];
    for (const [url, operatorToken, code, title] of cases) {
      await page.fill("[data-testid=server-url]", url);
      await page.fill("[data-testid=operator-token]", operatorToken);
      await page.click("[data-testid=test-connection]");
      const failure = page.locator(`[data-testid=connection-error] .error-box[data-code=${code}]`);
      await failure.waitFor();
      assert.equal(await failure.locator(".error-code").textContent(), code);
      assert.match(await failure.locator(".error-title").textContent(), title);
      assert.ok((await failure.locator(".error-hint").textContent()).length > 20, `${code} has a hint`);
    }
    await scrollToTop(page);
    await harness.screenshot(page, "settings-remote-failure");

    // A self-signed server is trusted once its CA certificate is chosen.
    await page.fill("[data-testid=server-url]", "https://self-signed.example");
    await page.fill("[data-testid=operator-token]", token("tom"));
    await page.fill("[data-testid=ca-certificate]", "/etc/node-factory/registry-ca.pem");
    await page.click("[data-testid=test-connection]");
    await page.waitForSelector("[data-testid=connection-result]");
  });

  it("removes the stored token", async () => {
    const { page } = await harness.open("?registry=remote&ports=0");
    await page.click("[data-screen=settings]");
    await page.waitForSelector("[data-testid=token-stored]");
    await page.click("[data-testid=remove-token]");
    await page.waitForSelector("[data-testid=operator-token]");
    await page.waitForSelector("[data-testid=registry-indicator][data-state=refused]");
    assert.equal(await page.evaluate(() => window.fakeBackend.storedTokens.size), 0);
  });

  it("fails clearly where no keyring is available", async () => {
    const { page } = await openRemoteSettings("?ports=0&keyring=none");
    await page.fill("[data-testid=operator-token]", token("tom"));
    await page.click("[data-testid=save-settings]");
    const failure = page.locator(".error-box[data-code=keyring_unavailable]");
    await failure.waitFor();
    assert.match(await failure.textContent(), /OS keyring/);
    assert.equal(await page.locator("[data-testid=settings-saved]").count(), 0);
    assert.equal(await page.evaluate(() => window.fakeBackend.storedTokens.size), 0);
    assert.equal(await page.getAttribute("[data-testid=registry-indicator]", "data-state"), "local");
  });
});

describe("bench and screens with a registry server", () => {
  it("shows each card's lease and releases it for a scanned registration", async () => {
    const { page, errors } = await harness.open("?registry=remote&ports=3");
    const ports = ["/dev/pts/10", "/dev/pts/11", "/dev/pts/12"];
    const nodeIds = [];
    for (const port of ports) {
      const lease = card(page, port).locator("[data-testid=card-lease]");
      await lease.waitFor();
      assert.match(await lease.textContent(), /Reserved for this bench until \d\d:\d\d/);
      nodeIds.push(await card(page, port).locator("[data-testid=card-registration] code").textContent());
    }
    assert.equal(new Set(nodeIds).size, 3, `each card has its own registration: ${nodeIds}`);

    const scanned = await page.evaluate(async () => {
      const page = await window.fakeBackend.listRegistrations({
        status: "provisioned", target_chip: "esp32", search: null, sort: "created_at", descending: false, offset: 0, limit: 1,
      });
      return page.items[0].node_id;
    });
    const search = card(page, ports[0]).locator("input[type=search]");
    await search.fill(scanned);
    await search.press("Enter");
    await card(page, ports[0]).locator("[data-testid=card-registration] code", { hasText: scanned }).waitFor();
    assert.equal(await card(page, ports[0]).locator("[data-testid=card-lease]").count(), 0);
    assert.match(await card(page, ports[0]).textContent(), /already provisioned/);
    assert.deepEqual(errors, []);
  });

  it("says on every card that the server is unreachable and recovers alone", async () => {
    const { page, errors } = await harness.open("?registry=remote&ports=3");
    const ports = ["/dev/pts/10", "/dev/pts/11", "/dev/pts/12"];
    for (const port of ports) {
      await card(page, port).locator("[data-testid=card-lease]").waitFor();
      await card(page, port).locator("[aria-label='Firmware path']").fill("/home/bench/ultralights-node/build");
      await card(page, port).locator("[data-testid=card-token]").fill("ulota_minted-token-from-the-export-file");
      assert.equal(await card(page, port).locator("button.flash").isEnabled(), true);
    }

    await page.evaluate(() => window.fakeBackend.setServerReachable(false));
    for (const port of ports) {
      const banner = card(page, port).locator("[data-testid=registry-banner]");
      await banner.waitFor();
      assert.match(await banner.textContent(), /The registry server https:\/\/registry\.factory\.example is unreachable\./);
      assert.match(await banner.textContent(), /→ Check the server URL in Settings/);
      assert.match(await banner.locator("summary").textContent(), /server_unreachable/);
      assert.equal(await card(page, port).locator("button.flash").isDisabled(), true);
      assert.match(await card(page, port).locator("[data-testid=flash-reason]").textContent(), /Flashing is paused/);
    }
    await page.waitForSelector("[data-testid=counts-blocked]");
    await scrollToTop(page);
    await harness.screenshot(page, "bench-server-unreachable");

    // The Registrations and Generate screens show the error instead of their data.
    await page.click("[data-screen=registrations]");
    await page.waitForSelector("[data-testid=registry-banner][data-state=unreachable]");
    assert.equal(await page.locator(".registrations-layout").isVisible(), false);
    assert.equal(await page.locator("[data-testid=match-count]").count(), 0);
    await page.click("[data-screen=generate]");
    await page.waitForSelector("[data-testid=registry-banner][data-state=unreachable]");
    assert.equal(await page.locator("[data-testid=mint]").count(), 0);

    await page.evaluate(() => window.fakeBackend.setServerReachable(true));
    await page.waitForSelector("[data-testid=mint]");
    await page.click("[data-screen=registrations]");
    await page.waitForSelector(".table-row[data-node-id]");
    await page.click("[data-screen=bench]");
    for (const port of ports) {
      await card(page, port).locator("[data-testid=card-lease]").waitFor();
      assert.equal(await card(page, port).locator("[data-testid=registry-banner]").count(), 0);
    }
    assert.deepEqual(errors, []);
  });

  it("disables what a support operator may not do, with the reason", async () => {
    const { page } = await harness.open("?registry=remote&role=support&ports=1");
    const reason = card(page, "/dev/pts/10").locator("[data-testid=flash-reason]");
    await reason.waitFor();
    assert.match(await reason.textContent(), /Operator sue has the support role, which may not record flash attempts/);
    assert.equal(await card(page, "/dev/pts/10").locator("button.flash").isDisabled(), true);
    assert.equal(await card(page, "/dev/pts/10").locator(".field-error").count(), 0, "no reservation is attempted");
    await harness.screenshot(page, "bench-role-support");

    await page.click("[data-screen=generate]");
    await page.waitForSelector("[data-testid=mint-refusal]");
    assert.equal(await page.isDisabled("[data-testid=mint]"), true);
    assert.match(await page.textContent("[data-testid=mint-refusal]"), /may not mint registrations/);

    await page.click("[data-screen=registrations]");
    await page.click(".table-row[aria-rowindex='1']");
    await page.waitForSelector("[data-testid=rotate-token]");
    assert.equal(await page.isEnabled("[data-testid=rotate-token]"), true, "support rotates credentials");
    assert.equal(await page.locator("[data-testid=detail-panel] input[type=checkbox]").isDisabled(), true);
  });

  it("disables token rotation for a technician", async () => {
    const { page } = await harness.open("?registry=remote&role=technician&ports=1");
    await card(page, "/dev/pts/10").locator("[data-testid=card-lease]").waitFor();
    assert.equal(await card(page, "/dev/pts/10").locator("[data-testid=token-rotate]").isDisabled(), true);
    assert.equal(await card(page, "/dev/pts/10").locator("[data-testid=card-token]").isVisible(), true);

    await page.click("[data-screen=registrations]");
    await page.click(".table-row[aria-rowindex='1']");
    await page.waitForSelector("[data-testid=rotate-refusal]");
    assert.equal(await page.isDisabled("[data-testid=rotate-token]"), true);
    assert.equal(await page.isDisabled("[data-testid=rotate-download-id]"), true);
    assert.match(await page.textContent("[data-testid=rotate-refusal]"), /technician role, which may not rotate tokens/);
  });

  it("lists the audit log of a flashed registration", async () => {
    const { page, errors } = await harness.open("?registry=remote&ports=1&tickMs=5");
    const port = "/dev/pts/10";
    await card(page, port).locator("[data-testid=card-lease]").waitFor();
    const nodeId = await card(page, port).locator("[data-testid=card-registration] code").textContent();
    await card(page, port).locator("select").selectOption("build_folder");
    await card(page, port).locator("[aria-label='Firmware path']").fill("/home/bench/ultralights-node/build");
    await card(page, port).locator("[data-testid=card-token]").fill("ulota_minted-token-from-the-export-file");
    await card(page, port).locator("button.flash").click();
    await card(page, port).locator("[data-testid=result-ok]").waitFor({ timeout: 20_000 });

    await page.click("[data-screen=registrations]");
    await page.fill("[data-testid=registration-search]", nodeId);
    await page.waitForFunction(() => document.querySelector("[data-testid=match-count]")?.textContent === "1 matching");
    await page.click(`.table-row[data-node-id="${nodeId}"]`);
    const rows = page.locator("[data-testid=audit-log] tbody tr");
    await rows.first().waitFor();
    const actions = await rows.evaluateAll((all) => all.map((row) => row.dataset.action));
    assert.deepEqual(actions, ["record_flash", "reserve", "mint"]);
    assert.equal(await rows.first().locator(".actor").textContent(), "tom");
    assert.match(await rows.first().locator(".request-id").textContent(), /^req-/);
    assert.match(await rows.first().textContent(), /Flash recorded: success/);
    await page.locator("[data-testid=audit-log]").scrollIntoViewIfNeeded();
    await harness.screenshot(page, "registrations-audit");
    assert.deepEqual(errors, []);
  });
});
