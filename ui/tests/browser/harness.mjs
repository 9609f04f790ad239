// Starts the built UI and Debian's Chromium for the browser tests. The UI runs on its fake
// backend because the page has no Tauri IPC.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startPreview } from "./server.mjs";

export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../../docs/screenshots");

// Without the networking flags Chromium tries to reach Google's services, which this
// machine's closed network refuses.
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function startHarness() {
  const server = await startPreview();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: CHROMIUM_FLAGS,
  });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });

  async function open(query = "") {
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    const errors = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${server.url}/${query}`);
    await page.waitForSelector("[data-testid=available-counts] .count-row");
    return { page, errors };
  }

  return {
    open,
    screenshot: (page, name) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) }),
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}
