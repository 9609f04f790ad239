// Measures the desktop app: time from launch to an interactive window, memory of the idle app,
// and frame times while scrolling 100,000 registrations. Prints the numbers; asserts nothing.
//
//   cargo build -p node-factory-app --features custom-protocol   # after `npm --prefix ui run build`
//   xvfb-run -a -s "-screen 0 1280x860x24" node scripts/measure-desktop.mjs
//
// Set NODE_FACTORY_APP to measure another binary (a release build, say).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Session } from "../tests/e2e/webdriver.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, "target");
const application = process.env.NODE_FACTORY_APP ?? join(targetDir, "debug/node-factory-app");
const port = Number(process.env.TAURI_DRIVER_PORT ?? 4454);
const ROWS = 100_000;
// Pixels scrolled per frame: 900 is a fast fling (about 28 rows a frame), 300 a steady scroll.
const SCROLL_PX = Number(process.env.SCROLL_PX ?? 900);

/** Lists the app's process and all its descendants (WebKit's web and network processes). */
function processTree(rootPid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended while being read.
    }
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

function rssKib(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((text) => text.startsWith("VmRSS:"));
  return line ? Number(line.split(/\s+/)[1]) : 0;
}

/** Records the time between animation frames for `durationMs`, scrolling the table each frame. */
async function recordFrames(durationMs, scrollPx) {
  await session.command("POST", "/execute/async", {
    script: `const [durationMs, scrollPx, done] = arguments;
      const viewport = document.querySelector("[data-testid=table-viewport]");
      const frames = [];
      let last = performance.now();
      const start = last;
      function step(now) {
        frames.push(now - last);
        last = now;
        viewport.scrollTop += scrollPx;
        if (now - start < durationMs) requestAnimationFrame(step);
        else { window.frameTimes = frames.slice(1); done(true); }
      }
      requestAnimationFrame(step);`,
    args: [durationMs, scrollPx],
  });
  return session.execute(`return window.frameTimes;`);
}

/** Proportional set size: shared pages (WebKit's libraries) are split among their users. */
function pssKib(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").split("\n").find((text) => text.startsWith("Pss:"));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

function findAppPid() {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")[0] === application) return Number(entry);
    } catch {
      // The process ended while being read.
    }
  }
  return null;
}

const home = mkdtempSync(join(tmpdir(), "node-factory-measure-"));
const environment = { ...process.env, XDG_CONFIG_HOME: join(home, "config"), XDG_DATA_HOME: join(home, "data") };
const driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], {
  env: environment,
  stdio: "ignore",
});
const base = `http://127.0.0.1:${port}`;
let session;
try {
  for (let attempt = 0; attempt < 75; attempt++) {
    try {
      await fetch(`${base}/status`);
      break;
    } catch {
      await new Promise((done) => setTimeout(done, 200));
    }
  }

  // Launch to interactive: the session starts the app; the sidebar counts appear once the
  // front end has loaded and its first registry call returned.
  const launched = performance.now();
  session = await Session.create(base, { "tauri:options": { application } });
  await session.waitFor("an interactive window", () =>
    session.execute(`return document.querySelector("[data-testid=available-counts] .count-row") !== null;`),
  );
  const interactiveMs = performance.now() - launched;
  const pageMs = await session.execute(`return performance.now();`);

  // Idle memory: the whole process tree, after five quiet seconds.
  await new Promise((done) => setTimeout(done, 5000));
  const pid = findAppPid();
  const tree = pid ? processTree(pid) : [];
  const idleRssMib = tree.reduce((sum, member) => sum + rssKib(member), 0) / 1024;
  const idlePssMib = tree.reduce((sum, member) => sum + pssKib(member), 0) / 1024;
  const appRssMib = pid ? rssKib(pid) / 1024 : 0;

  // Scrolling: mint the rows through the UI's backend, then scroll the table for four seconds
  // and record the time between animation frames.
  await session.click("[data-screen=generate]");
  await session.setValue("[data-testid=count]", String(ROWS));
  await session.click("[data-testid=mint]");
  await session.waitFor("the minted batch", () => session.textOf("[data-testid=mint-results]"), 300_000);
  await session.clickButton("Done");
  await session.waitFor("the leave warning", () => session.textOf("[data-testid=leave-warning]"));
  await session.clickButton("Discard tokens");
  await session.click("[data-screen=registrations]");
  await session.waitFor("100,000 rows", async () => (await session.textOf("[data-testid=match-count]")) === "100,000 matching", 60_000);
  // The same frame clock without scrolling tells the table's cost from the window's.
  const idleFrames = [...(await recordFrames(2000, 0))].sort((a, b) => a - b);
  const frames = await recordFrames(4000, SCROLL_PX);
  const sorted = [...frames].sort((a, b) => a - b);
  const scrolledTo = await session.execute(`return document.querySelector("[data-testid=table-viewport]").scrollTop;`);

  console.log(
    JSON.stringify(
      {
        application,
        scroll_px_per_frame: SCROLL_PX,
        interactive_ms: Math.round(interactiveMs),
        interactive_ms_in_page: Math.round(pageMs),
        idle_rss_mib_sum: Math.round(idleRssMib),
        idle_pss_mib_sum: Math.round(idlePssMib),
        idle_rss_mib_app_process: Math.round(appRssMib),
        idle_processes: tree.length,
        scroll_frames: frames.length,
        scroll_rows_passed: Math.round(scrolledTo / 32),
        frame_ms_max: Math.round(sorted.at(-1) * 10) / 10,
        frame_ms_p95: Math.round(sorted[Math.floor(sorted.length * 0.95)] * 10) / 10,
        frame_ms_median: Math.round(sorted[Math.floor(sorted.length / 2)] * 10) / 10,
        frames_over_50ms: frames.filter((frame) => frame > 50).length,
        idle_frame_ms_median: Math.round(idleFrames[Math.floor(idleFrames.length / 2)] * 10) / 10,
        idle_frame_ms_max: Math.round(idleFrames.at(-1) * 10) / 10,
      },
      null,
      2,
    ),
  );
} finally {
  await session?.close().catch(() => undefined);
  driver.kill();
  rmSync(home, { recursive: true, force: true });
}
