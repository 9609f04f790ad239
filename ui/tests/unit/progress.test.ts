import { describe, expect, it } from "vitest";
import { applyEvent, emptyProgress, fraction, MAX_LOG_LINES, regionLabel, type JobProgress } from "../../src/lib/bench/progress";

const started = [
  { kind: "region_started" as const, index: 0, offset: 0, size: 1000, name: "bootloader.bin" },
  { kind: "region_started" as const, index: 1, offset: 0x10000, size: 4000, name: null },
];

function startAll(progress: JobProgress) {
  for (const event of started) applyEvent(progress, event, 0);
}

describe("applyEvent", () => {
  it("computes rate and time left from progress", () => {
    const progress = emptyProgress();
    startAll(progress);
    applyEvent(progress, { kind: "region_progress", index: 1, written: 0, total: 4000 }, 1000);
    applyEvent(progress, { kind: "region_progress", index: 1, written: 1000, total: 4000 }, 2000);

    const region = progress.regions[1];
    expect(region.rate).toBe(1000);
    expect(region.secondsLeft).toBe(3);
    expect(fraction(region)).toBe(0.25);
    expect(regionLabel(progress.regions[0], 0)).toBe("bootloader.bin");
    expect(regionLabel(region, 1)).toBe("region 2");
  });

  it("marks skipped and finished regions", () => {
    const progress = emptyProgress();
    startAll(progress);
    applyEvent(progress, { kind: "region_skipped", index: 0 }, 10);
    applyEvent(progress, { kind: "region_done", index: 1 }, 20);
    expect(progress.regions[0]).toMatchObject({ skipped: true, done: true });
    expect(fraction(progress.regions[1])).toBe(1);
  });

  it("ignores progress for unknown regions", () => {
    const progress = emptyProgress();
    applyEvent(progress, { kind: "region_progress", index: 5, written: 1, total: 2 }, 0);
    expect(progress.regions).toEqual([]);
  });

  it("keeps the outcome and stage", () => {
    const progress = emptyProgress();
    applyEvent(progress, { kind: "stage", stage: "building" }, 0);
    expect(progress.stage).toBe("building");
    const error = { code: "port_disconnected", message: "gone", hint: "replug", recovered_token: null };
    applyEvent(progress, { kind: "failed", error }, 0);
    expect(progress.outcome).toEqual({ kind: "failed", error });
  });

  it("bounds the log", () => {
    const progress = emptyProgress();
    for (let i = 0; i < MAX_LOG_LINES + 5; i++) applyEvent(progress, { kind: "log", line: `line ${i}` }, 0);
    expect(progress.log).toHaveLength(MAX_LOG_LINES);
    expect(progress.log[0]).toBe("line 5");
  });
});
