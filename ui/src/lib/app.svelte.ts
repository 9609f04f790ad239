// App-wide state: the backend, the current screen, the registry counts shown in the sidebar,
// the registry's status, and the guard that keeps unsaved tokens from being closed by accident.
import type { Backend, Counts, RegistryStatus } from "./backend";
import { registryBlock, type RegistryBlock } from "./registry/status";

export type Screen = "bench" | "registrations" | "generate" | "settings";

/** Something on screen that would be lost by leaving it, such as tokens not yet saved. */
export interface LeaveGuard {
  /** Whether leaving now would lose something. */
  blocked(): boolean;
  /** Drops what would be lost, after the user agreed to. */
  discard(): Promise<void>;
  /** What the warning says. */
  message: string;
}

class AppState {
  backend: Backend | null = $state(null);
  screen: Screen = $state("bench");
  counts: Counts | null = $state(null);
  /** The registry's status as the Rust side last reported it. */
  status: RegistryStatus | null = $state(null);
  /** The reason registry work is impossible now (an unreachable or rejecting server), or null. */
  block: RegistryBlock | null = $derived(this.status ? registryBlock(this.status) : null);
  guard: LeaveGuard | null = null;
  /** A pending request to leave that the warning dialog is asking about. */
  leaveRequest: { message: string; resolve: (leave: boolean) => void } | null = $state(null);

  /** Takes a new status; a registry that becomes usable again refreshes the counts. */
  setStatus(status: RegistryStatus): void {
    const wasBlocked = this.block !== null;
    const previousGeneration = this.status?.generation;
    this.status = status;
    if ((wasBlocked && this.block === null) || previousGeneration !== status.generation) void this.refreshCounts();
  }

  async refreshCounts(): Promise<void> {
    // The sidebar shows that the server is away instead of its last counts.
    if (!this.backend || this.block) return;
    try {
      this.counts = await this.backend.registryCounts();
    } catch {
      // The screens show registry errors where they happen; the sidebar keeps its last counts.
    }
  }

  /** Asks the user when leaving would lose something; resolves true when it is fine to leave. */
  async confirmLeave(): Promise<boolean> {
    const guard = this.guard;
    if (!guard || !guard.blocked()) return true;
    const leave = await new Promise<boolean>((resolve) => {
      this.leaveRequest = { message: guard.message, resolve };
    });
    this.leaveRequest = null;
    if (leave) await guard.discard();
    return leave;
  }

  async navigate(screen: Screen): Promise<void> {
    if (screen === this.screen) return;
    if (await this.confirmLeave()) this.screen = screen;
  }
}

export const app = new AppState();
