// End-to-end test of the real app window under Xvfb, driven by tauri-driver and
// WebKitWebDriver: minting, flashing a simulated ESP32-C3 from a project folder through the
// stand-in idf.py, a cable pulled mid-write, and the same against a real registry server
// (`node-factory serve` on 127.0.0.1) that is then stopped. Run it with xvfb-run from the
// repository root after building the app with the custom-protocol feature and the `cli` crate.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Session } from "./webdriver.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, "target");
const application = process.env.NODE_FACTORY_APP ?? join(targetDir, "debug/node-factory-app");
const commandLine = process.env.NODE_FACTORY_CLI ?? join(targetDir, "debug/node-factory");
const SERVER_PUBLIC_URL = "https://ota.factory.example";
const driverPort = Number(process.env.TAURI_DRIVER_PORT ?? 4444);

let driver;
let session;
let home;
let server;

before(async () => {
  home = mkdtempSync(join(tmpdir(), "node-factory-e2e-"));
  const project = join(home, "ultralights-node");
  mkdirSync(project);
  copyFileSync(join(root, "firmware-templates/sdkconfig.esp32c3"), join(project, "sdkconfig"));

  // The app inherits this environment through tauri-driver and WebKitWebDriver: its own
  // config and data folders, and the stand-in idf.py first on the PATH.
  const environment = {
    ...process.env,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_DATA_HOME: join(home, "data"),
    PATH: `${join(root, "tests/fixtures")}:${process.env.PATH}`,
    // Operator tokens stay in the app's memory: the test machine has no Secret Service.
    NODE_FACTORY_TEST_KEYRING: "memory",
  };
  driver = spawn("tauri-driver", ["--port", String(driverPort), "--native-port", String(driverPort + 1)], {
    env: environment,
    stdio: ["ignore", "inherit", "inherit"],
  });

  const base = `http://127.0.0.1:${driverPort}`;
  await waitForDriver(base);
  session = await Session.create(base, {
    "tauri:options": { application, args: ["--simulated-boards", "2"] },
  });
  session.project = project;
  await session.waitFor("the app's sidebar", () => session.textOf("[data-testid=available-counts]"));
});

after(async () => {
  await session?.close().catch(() => undefined);
  driver?.kill();
  server?.process.kill();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function waitForDriver(base) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      await fetch(`${base}/status`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error("tauri-driver did not start");
}

/**
 * Takes a screenshot of the X display the test runs on. WebDriver's own screenshot command
 * hangs in WebKitWebDriver while the app runs with accelerated compositing off.
 */
function screenshot(name) {
  const result = spawnSync("import", ["-window", "root", join(root, "docs/screenshots", name)]);
  assert.equal(result.status, 0, `import failed: ${result.stderr}`);
}

/** Returns the port of the `position`-th card showing `chip` (counted from 0). */
function cardPort(chip, position = 0) {
  return session.execute(
    `const cards = [...document.querySelectorAll("article.port-card")]
       .filter((card) => card.querySelector("[data-testid=port-chip]")?.textContent === arguments[0]);
     return cards[arguments[1]]?.dataset.port ?? null;`,
    [chip, position],
  );
}

async function flashOnCard(port) {
  const card = `article[data-port="${port}"]`;
  await session.type(`${card} input[type=search]`, "\uE007");
  const nodeId = await session.waitFor("a registration on the card", () => session.textOf(`${card} [data-testid=card-registration] code`));
  await session.setValue(`${card} [aria-label='Firmware path']`, session.project);
  await session.click(`${card} button.flash`);
  return { card, nodeId };
}

async function showRegistration(nodeId) {
  await session.click("[data-screen=registrations]");
  await session.setValue("[data-testid=registration-search]", nodeId);
  await session.waitFor("one matching registration", async () => (await session.textOf("[data-testid=match-count]")) === "1 matching");
  await session.click(`.table-row[data-node-id="${nodeId}"]`);
  await session.waitFor("the detail panel", () => session.textOf("[data-testid=detail-status]"));
}

it("mints, flashes a simulated ESP32-C3 and records it", async () => {
  await session.click("[data-screen=generate]");
  await session.setValue("[data-testid=count]", "3");
  await session.click("[data-testid=mint]");
  await session.waitFor("the minted tokens", () => session.textOf("[data-testid=mint-results]"));
  const tokens = await session.execute(`return [...document.querySelectorAll(".minted code.token")].map((cell) => cell.textContent);`);
  assert.equal(tokens.length, 3);
  assert.ok(tokens.every((token) => token.startsWith("ulota_")));

  // Leaving with unsaved tokens shows a warning first.
  await session.click("[data-screen=bench]");
  await session.waitFor("the unsaved-tokens warning", () => session.textOf("[data-testid=leave-warning]"));
  await session.clickButton("Discard tokens");
  await session.waitFor("the Bench screen", () => session.textOf("article.port-card"));
  assert.equal(await session.textOf("[data-testid=available-counts] [data-chip=esp32c3] strong"), "3");

  const port = await session.waitFor("an ESP32-C3 card", () => cardPort("ESP32-C3"));
  const { card, nodeId } = await flashOnCard(port);
  await session.waitFor("the green card", () => session.textOf(`${card} [data-testid=result-ok]`), 90_000);
  const mac = await session.textOf(`${card} [data-testid=result-mac]`);
  assert.match(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  screenshot("app-bench-flashed.png");
  const log = await session.textOf(`${card} [data-testid=log]`);
  assert.match(log, /Project build complete/);
  assert.doesNotMatch(log, /ulota_/);

  await showRegistration(nodeId);
  assert.equal(await session.textOf("[data-testid=detail-status]"), "provisioned");
  assert.match(await session.textOf("[data-testid=flash-history]"), new RegExp(mac));
  screenshot("app-registration-provisioned.png");
});

it("shows the hint when the cable is pulled and keeps the registration available", async () => {
  await session.click("[data-screen=bench]");
  await session.waitFor("the Bench screen", () => session.textOf("article.port-card"));
  // Simulated boards cycle ESP32, ESP32-C3, ESP32-S3; the third one attached now is a C3.
  await session.setValue("[aria-label='Simulated board behaviour']", "stall-after=32");
  for (let i = 0; i < 3; i++) await session.click("[data-testid=attach-simulated]");
  const port = await session.waitFor("a second ESP32-C3 card", () => cardPort("ESP32-C3", 1));

  const { card, nodeId } = await flashOnCard(port);
  await session.waitFor("the end of the job", () => session.textOf(`${card} [data-testid=result-failed], ${card} [data-testid=result-ok]`), 90_000);
  const message = await session.textOf(`${card} .error-message`);
  assert.match(message ?? "the job succeeded", /stopped answering while writing region/);
  assert.equal(await session.textOf(`${card} .error-title`), "Board stopped answering");
  assert.match(await session.textOf(`${card} .error-hint`), /Check the USB cable/);
  assert.ok(await session.findXpath(`//article[@data-port='${port}']//button[normalize-space()='Retry']`));
  screenshot("app-bench-cable-pulled.png");

  await showRegistration(nodeId);
  assert.equal(await session.textOf("[data-testid=detail-status]"), "available");
  assert.match(await session.textOf("[data-testid=flash-history]"), /board_stopped_answering/);
});

/** Runs the command line on the test's registry file and returns its stdout. */
function nodeFactory(database, args) {
  const result = spawnSync(commandLine, args, {
    env: { ...process.env, NODE_FACTORY_REGISTRY: database },
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `node-factory ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/** Starts `node-factory serve` on 127.0.0.1 and returns its process and URL once it listens. */
async function startServer(database, bind) {
  const process_ = spawn(
    commandLine,
    ["--public-url", SERVER_PUBLIC_URL, "--firmware-dir", join(home, "server-firmware"), "serve", "--bind", bind],
    { env: { ...process.env, NODE_FACTORY_REGISTRY: database }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: process_.stdout });
  const exited = once(process_, "exit").then(([code]) => {
    throw new Error(`node-factory serve exited with ${code} before listening`);
  });
  const listening = (async () => {
    for await (const line of lines) {
      const url = line.match(/^registry server listening on (\S+)$/)?.[1];
      if (url) return url;
    }
    throw new Error("node-factory serve closed its output before listening");
  })();
  const url = await Promise.race([listening, exited]);
  exited.catch(() => undefined);
  return { process: process_, url };
}

async function stopServer() {
  const exited = once(server.process, "exit");
  server.process.kill("SIGTERM");
  await exited;
}

/** Asks the server, as the operator, for a registration's recorded flashes. */
async function serverFlashes(nodeId, token) {
  const response = await fetch(`${server.url}/api/v1/registrations/${nodeId}/flashes`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  return (await response.json()).records;
}

it("flashes through a registry server and shows when it is unreachable", async () => {
  const database = join(home, "server", "registry.sqlite3");
  mkdirSync(dirname(database), { recursive: true });
  const operatorToken = nodeFactory(database, ["operators", "add", "tom", "--role", "technician"]).trim();
  assert.match(operatorToken, /^ulop_/);
  server = await startServer(database, "127.0.0.1:0");

  // Point the app at the server through the Settings screen.
  await session.click("[data-screen=settings]");
  await session.waitFor("the Settings screen", () => session.textOf("[data-testid=save-settings]"));
  await session.click("[data-testid=registry-kind-remote]");
  await session.setValue("[data-testid=server-url]", server.url);
  await session.setValue("[data-testid=operator-token]", operatorToken);
  await session.click("[data-testid=test-connection]");
  const tested = await session.waitFor("the connection test", () =>
    session.textOf("[data-testid=connection-result], [data-testid=connection-error]"),
  );
  assert.match(tested, /signed in as tom \(Technician\)/);
  assert.match(tested, /https:\/\/ota\.factory\.example/);
  await session.click("[data-testid=save-settings]");
  await session.waitFor("the stored token", () => session.textOf("[data-testid=token-stored]"));
  await session.waitFor("the server online", async () =>
    (await session.textOf("[data-testid=registry-indicator]"))?.includes("tom · Technician"),
  );
  await session.execute(`document.querySelector("main.content").scrollTo(0, 0);`);
  screenshot("app-settings-remote.png");
  const settingsFile = readFileSync(join(home, "config/com.ultralights.nodefactory/settings.json"), "utf8");
  assert.ok(settingsFile.includes(server.url));
  assert.ok(!settingsFile.includes(operatorToken), "the settings file holds the operator token");

  // Mint on the server; the tokens come back once, in the results table.
  await session.click("[data-screen=generate]");
  await session.setValue("[data-testid=count]", "2");
  await session.click("[data-testid=mint]");
  await session.waitFor("the minted tokens", () => session.textOf("[data-testid=mint-results]"));
  const minted = Object.fromEntries(
    await session.execute(
      `return [...document.querySelectorAll(".minted tbody tr")].map((row) => [row.cells[0].textContent, row.cells[3].textContent]);`,
    ),
  );
  assert.equal(Object.keys(minted).length, 2);
  await session.click("[data-screen=bench]");
  await session.clickButton("Discard tokens");

  // Back on the Bench, each card reserves the next registration for its chip under a lease.
  const port = await session.waitFor("an ESP32-C3 card", () => cardPort("ESP32-C3"));
  const card = `article[data-port="${port}"]`;
  const lease = await session.waitFor("the card's lease", () => session.textOf(`${card} [data-testid=card-lease]`));
  assert.match(lease, /Reserved for this bench until \d\d:\d\d/);
  const nodeId = await session.textOf(`${card} [data-testid=card-registration] code`);
  assert.ok(minted[nodeId], `the card's registration ${nodeId} was minted in this test`);

  // A technician may not rotate tokens, so the card flashes with the minted one.
  await session.setValue(`${card} [data-testid=card-token]`, minted[nodeId]);
  await session.setValue(`${card} [aria-label='Firmware path']`, session.project);
  await session.click(`${card} button.flash`);
  await session.waitFor("the green card", () => session.textOf(`${card} [data-testid=result-ok]`), 90_000);
  const mac = await session.textOf(`${card} [data-testid=result-mac]`);

  const flashes = await serverFlashes(nodeId, operatorToken);
  assert.equal(flashes.length, 1);
  assert.equal(flashes[0].outcome, "success");
  assert.equal(flashes[0].mac, mac);

  await showRegistration(nodeId);
  assert.equal(await session.textOf("[data-testid=detail-status]"), "provisioned");
  const audit = await session.waitFor("the audit log", () =>
    session.execute(
      `return [...document.querySelectorAll("[data-testid=audit-log] tbody tr")].map((row) => [row.dataset.action, row.querySelector(".actor").textContent]);`,
    ).then((rows) => (rows.length >= 3 ? rows : null)),
  );
  assert.deepEqual(audit.slice(0, 3), [["record_flash", "tom"], ["reserve", "tom"], ["mint", "tom"]]);

  // Stop the server: every card shows a banner and disables Flash, without a click.
  const address = new URL(server.url).host;
  await stopServer();
  await session.click("[data-screen=bench]");
  const banner = await session.waitFor("the unreachable banner", () => session.textOf(`${card} [data-testid=registry-banner]`), 30_000);
  assert.match(banner, new RegExp(`The registry server ${server.url.replaceAll(".", "\\.")} is unreachable`));
  const cards = await session.execute(
    `return [...document.querySelectorAll("article.port-card")].map((card) => ({
       banner: card.querySelector("[data-testid=registry-banner]") !== null,
       flash: card.querySelector("button.flash")?.disabled ?? null,
     }));`,
  );
  assert.ok(cards.length >= 2, `${cards.length} cards`);
  assert.ok(cards.every((card) => card.banner), "every card shows the banner");
  assert.ok(cards.every((card) => card.flash !== false), "no card offers Flash");
  screenshot("app-bench-server-unreachable.png");

  // Started again on the same address, the server is used again without a click.
  server = await startServer(database, address);
  await session.waitFor("the banner gone", async () => (await session.textOf(`${card} [data-testid=registry-banner]`)) === null, 30_000);
});

