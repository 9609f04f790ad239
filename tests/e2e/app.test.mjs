// End-to-end test of the real app window under Xvfb, driven by tauri-driver and
// WebKitWebDriver: minting, flashing a simulated ESP32-C3 from a project folder through the
// stand-in idf.py, and a cable pulled mid-write. Run it with xvfb-run from the repository root
// after building the app with the custom-protocol feature.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Session } from "./webdriver.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, "target");
const application = process.env.NODE_FACTORY_APP ?? join(targetDir, "debug/node-factory-app");
const driverPort = Number(process.env.TAURI_DRIVER_PORT ?? 4444);

let driver;
let session;
let home;

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
