// Progress of a flash job as the card shows it: per region bytes, rate and time left, built
// from the job's events.
import type { CommandError, FlashJobEvent, JobStage } from "../backend";

export interface RegionProgress {
  offset: number;
  size: number;
  /** The image file, such as `bootloader.bin`, when the backend reports it. */
  name: string | null;
  written: number;
  skipped: boolean;
  done: boolean;
  /** When the first bytes of the region were reported, in milliseconds. */
  startedAt: number | null;
  /** Bytes per second, averaged since the region started. */
  rate: number | null;
  /** Seconds until the region is written at the current rate. */
  secondsLeft: number | null;
}

export type JobOutcome = { kind: "finished"; nodeId: string; mac: string } | { kind: "failed"; error: CommandError };

export interface JobProgress {
  stage: JobStage | null;
  regions: RegionProgress[];
  log: string[];
  chip: { chip: string; mac: string; revision: string | null } | null;
  outcome: JobOutcome | null;
}

/** The log keeps this many lines, so a long build does not grow the card without bound. */
export const MAX_LOG_LINES = 2000;

export function emptyProgress(): JobProgress {
  return { stage: null, regions: [], log: [], chip: null, outcome: null };
}

/** Applies one event to the progress; `now` is in milliseconds. Returns the same object. */
export function applyEvent(progress: JobProgress, event: FlashJobEvent, now: number): JobProgress {
  switch (event.kind) {
    case "stage":
      progress.stage = event.stage;
      break;
    case "log":
      progress.log.push(event.line);
      if (progress.log.length > MAX_LOG_LINES) progress.log.splice(0, progress.log.length - MAX_LOG_LINES);
      break;
    case "chip_detected":
      progress.chip = { chip: event.chip, mac: event.mac, revision: event.revision };
      break;
    case "region_started":
      progress.regions[event.index] = {
        offset: event.offset,
        size: event.size,
        name: event.name,
        written: 0,
        skipped: false,
        done: false,
        startedAt: null,
        rate: null,
        secondsLeft: null,
      };
      break;
    case "region_progress": {
      const region = progress.regions[event.index];
      if (!region) break;
      region.startedAt ??= now;
      region.written = event.written;
      region.size = event.total;
      const elapsed = (now - region.startedAt) / 1000;
      if (elapsed > 0 && event.written > 0) {
        region.rate = event.written / elapsed;
        region.secondsLeft = (event.total - event.written) / region.rate;
      }
      break;
    }
    case "region_skipped": {
      const region = progress.regions[event.index];
      if (region) Object.assign(region, { skipped: true, done: true, secondsLeft: 0 });
      else progress.regions[event.index] = { ...emptyRegion(), skipped: true, done: true };
      break;
    }
    case "region_done": {
      const region = progress.regions[event.index];
      if (region) Object.assign(region, { done: true, written: region.size, secondsLeft: 0 });
      break;
    }
    case "finished":
      progress.outcome = { kind: "finished", nodeId: event.node_id, mac: event.mac };
      break;
    case "failed":
      progress.outcome = { kind: "failed", error: event.error };
      break;
  }
  return progress;
}

export const STAGE_LABELS: Record<JobStage, string> = {
  preparing: "Preparing",
  building: "Building firmware",
  connecting: "Connecting",
  erasing: "Erasing flash",
  writing: "Writing",
  verifying: "Verifying",
  recording: "Recording result",
};

function emptyRegion(): RegionProgress {
  return { offset: 0, size: 0, name: null, written: 0, skipped: false, done: false, startedAt: null, rate: null, secondsLeft: null };
}

/** Returns a region's label: its file name, or its position when the backend sent none. */
export function regionLabel(region: RegionProgress, index: number): string {
  return region.name ?? `region ${index + 1}`;
}

/** The share of a region written, from 0 to 1. */
export function fraction(region: RegionProgress): number {
  return region.size > 0 ? Math.min(1, region.written / region.size) : region.done ? 1 : 0;
}
