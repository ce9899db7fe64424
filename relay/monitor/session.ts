/**
 * One monitor session, without a terminal: it polls the relay's /status.json, keeps the
 * model, reads the log tail, knows the page shown and what each key does, and renders the
 * screen as styled lines. The blessed screen (screen.ts) and `chive monitor --once` both
 * drive it; tests drive it directly.
 *
 * Not the drawing (panels.ts) and not the terminal (screen.ts).
 */
import { ChiveError } from '../../src/errors.js';
import type { Line } from './format.js';
import { readLogTail } from './log-tail.js';
import { type MonitorModel, addSnapshot, emptyModel, parseRelayStatus, withError } from './model.js';
import { PAGES, type Page, renderScreen } from './panels.js';

/** Longest wait for one /status.json. */
const FETCH_TIMEOUT_MS = 2000;
/** Log lines read for the tail. */
const LOG_LINES = 200;

export type StatusFetcher = (url: string) => Promise<unknown>;

/** GET url as JSON, refusing answers that are not 200 (MONITOR_UNREACHABLE). */
export const fetchJson: StatusFetcher = async (url) => {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? (e as Error).message;
    throw new ChiveError('MONITOR_UNREACHABLE', `${url}: ${cause}`, { cause: e });
  }
  if (res.status !== 200) throw new ChiveError('MONITOR_UNREACHABLE', `${url}: HTTP ${res.status}`);
  try {
    return (await res.json()) as unknown;
  } catch (e) {
    throw new ChiveError('MONITOR_UNREACHABLE', `${url}: not JSON`, { cause: e });
  }
};

export interface MonitorSessionOptions {
  /** Base URL of the metrics endpoint, e.g. http://127.0.0.1:9035. */
  readonly baseUrl: string;
  /** A log file to tail instead of the one the relay reports. */
  readonly logFile?: string;
  readonly fetch?: StatusFetcher;
}

export class MonitorSession {
  model: MonitorModel = emptyModel();
  page: Page = 'overview';
  private readonly fetcher: StatusFetcher;

  constructor(private readonly options: MonitorSessionOptions) {
    this.fetcher = options.fetch ?? fetchJson;
  }

  get source(): string {
    return this.options.baseUrl;
  }

  /** Fetches one snapshot into the model (an error is kept in the model, not thrown). */
  async refresh(): Promise<void> {
    try {
      const doc = await this.fetcher(`${this.options.baseUrl}/status.json`);
      this.model = addSnapshot(this.model, parseRelayStatus(doc));
    } catch (e) {
      this.model = withError(this.model, e instanceof ChiveError ? e.message.replace(/^[^ ]*status\.json: /, '') : String(e));
    }
  }

  /** The log tail's lines, or why there are none. */
  logTail(): readonly string[] | string {
    const file = this.options.logFile ?? this.model.latest?.logFile ?? null;
    if (file === null) return this.model.latest ? 'the relay logs to stderr: set LogFile (or chive monitor --log-file) to see its tail here' : '';
    const tail = readLogTail(file, LOG_LINES);
    return 'error' in tail ? tail.error : tail.lines;
  }

  /**
   * Handles a key by name (blessed's names: '1'..'4', 'tab', 'S-tab', 'right', 'left',
   * 'q', 'C-c', 'escape'). Returns 'quit' for the quitting keys, 'redraw' when the page
   * changed, null otherwise.
   */
  key(name: string): 'quit' | 'redraw' | null {
    if (name === 'q' || name === 'C-c' || name === 'escape') return 'quit';
    const index = PAGES.indexOf(this.page);
    let next: Page | undefined;
    if (/^[1-9]$/.test(name)) next = PAGES[Number(name) - 1];
    else if (name === 'tab' || name === 'right') next = PAGES[(index + 1) % PAGES.length];
    else if (name === 'S-tab' || name === 'left') next = PAGES[(index + PAGES.length - 1) % PAGES.length];
    if (next === undefined || next === this.page) return null;
    this.page = next;
    return 'redraw';
  }

  render(width: number, height: number, now = this.model.latest?.time ?? Date.now()): Line[] {
    return renderScreen({ model: this.model, page: this.page, width, height, now, log: this.logTail(), source: this.options.baseUrl });
  }
}
