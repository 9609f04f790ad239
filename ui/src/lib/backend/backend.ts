// The typed interface between the UI and the Rust side. Only this folder imports
// `@tauri-apps/*`: screens talk to a `Backend`, so browser tests can run them on the fake.
import type {
  AuditPage,
  BenchPort,
  CardClaim,
  ChipName,
  CommandError,
  Counts,
  EspIdfStatus,
  ExportFormat,
  FlashJobEvent,
  FlashJobInput,
  ImportedMetadata,
  MintedBatch,
  MintInput,
  PatchInput,
  PatchOutcome,
  PortsChanged,
  RegistrationDetail,
  RegistrationPage,
  RegistrationQuery,
  RegistrySettings,
  RegistryStatus,
  RotatedDownloadId,
  RotatedToken,
  ServerSummary,
  Settings,
} from "./bindings";

export type * from "./bindings";

export interface FileFilter {
  name: string;
  extensions: string[];
}

export interface Backend {
  registryCounts(): Promise<Counts>;
  listRegistrations(query: RegistrationQuery): Promise<RegistrationPage>;
  getRegistration(nodeId: string): Promise<RegistrationDetail>;
  rotateToken(nodeId: string): Promise<RotatedToken>;
  rotateDownloadId(nodeId: string): Promise<RotatedDownloadId>;
  patchSdkconfig(input: PatchInput): Promise<PatchOutcome>;

  mintRegistrations(input: MintInput): Promise<MintedBatch>;
  exportBatch(batchId: string, path: string, format: ExportFormat): Promise<void>;
  discardBatch(batchId: string): Promise<void>;
  readMetadataFile(path: string): Promise<ImportedMetadata>;

  /** Returns a page of a registration's audit log, newest first, or with `beforeId` the older entries. */
  listAuditEntries(nodeId: string, beforeId: number | null): Promise<AuditPage>;
  getSettings(): Promise<Settings>;
  /**
   * Saves the settings and applies them. With `operatorToken`, the token is first stored in
   * the OS keyring for the settings' registry server; it never comes back.
   */
  saveSettings(settings: Settings, operatorToken: string | null): Promise<Settings>;
  /** Whether an operator token is stored for the registry server at `url`. */
  operatorTokenStored(url: string): Promise<boolean>;
  removeOperatorToken(url: string): Promise<void>;
  /** Asks a registry server, as typed in Settings, for its facts; without a token, the stored one is used. */
  testConnection(registry: RegistrySettings, operatorToken: string | null): Promise<ServerSummary>;
  registryStatus(): Promise<RegistryStatus>;
  /** Subscribes to changes of the registry's status; returns the unsubscribe function. */
  onRegistryStatus(handler: (status: RegistryStatus) => void): Promise<() => void>;
  checkEspIdf(path: string): Promise<EspIdfStatus>;

  listPorts(): Promise<BenchPort[]>;
  /** Attaches simulated boards; `faults` are simulator knobs such as `stall-after=32`. */
  attachSimulatedBoards(count: number, faults?: string[]): Promise<BenchPort[]>;
  /** The registration a bench card offers: the one it holds, or the next one (reserved on a server). */
  cardRegistration(port: string, chip: ChipName | null): Promise<CardClaim>;
  /** Gives up the card's registration, releasing its lease, and takes the next one. */
  nextCardRegistration(port: string, chip: ChipName | null): Promise<CardClaim>;
  /** Makes a typed or scanned registration the card's. */
  pickCardRegistration(port: string, nodeId: string): Promise<CardClaim>;
  /** Starts a flash job; `onEvent` receives its events, ending with `finished` or `failed`. */
  startFlashJob(input: FlashJobInput, onEvent: (event: FlashJobEvent) => void): Promise<string>;
  /** Subscribes to ports appearing and going; returns the unsubscribe function. */
  onPortsChanged(handler: (change: PortsChanged) => void): Promise<() => void>;

  /**
   * Asks `handler` before the window closes; the window stays open when it resolves false.
   */
  onCloseRequested(handler: () => Promise<boolean>): Promise<() => void>;

  pickFolder(title: string): Promise<string | null>;
  pickFiles(title: string, filters: FileFilter[], multiple: boolean): Promise<string[]>;
  pickSavePath(title: string, defaultName: string, filters: FileFilter[]): Promise<string | null>;
}

/** A failed backend call, carrying the `{code, message, hint}` the Rust side sent. */
export class BackendError extends Error {
  readonly code: string;
  readonly hint: string | null;
  /** A token minted before the failure; shown once like any new token. */
  readonly recoveredToken: string | null;

  constructor(error: CommandError) {
    super(error.message);
    this.name = "BackendError";
    this.code = error.code;
    this.hint = error.hint;
    this.recoveredToken = error.recovered_token;
  }

  toCommandError(): CommandError {
    return { code: this.code, message: this.message, hint: this.hint, recovered_token: this.recoveredToken };
  }
}

/** Turns whatever a call rejected with into a `BackendError`. */
export function toBackendError(reason: unknown): BackendError {
  if (reason instanceof BackendError) return reason;
  if (reason && typeof reason === "object" && "code" in reason && "message" in reason) {
    const error = reason as Partial<CommandError>;
    return new BackendError({
      code: String(error.code),
      message: String(error.message),
      hint: error.hint ?? null,
      recovered_token: error.recovered_token ?? null,
    });
  }
  const message = reason instanceof Error ? reason.message : String(reason);
  return new BackendError({ code: "internal", message, hint: null, recovered_token: null });
}
