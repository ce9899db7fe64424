/**
 * Relay CPU per MB relayed, for `chive bench`: a meter read around each bulk transfer.
 *
 * - "per-process" (`--processes`): each relay is its own OS process; before and after a
 *   transfer the meter reads every relay's utime + stime from /proc/<pid>/stat and charges
 *   each relay of that transfer's circuit with its own CPU delta and the transfer's bytes.
 *   Per relay: cpuMs / MB relayed (MB = 10^6 bytes); the mean is Σ cpuMs / Σ MB over the
 *   relays (a mean weighted by bytes relayed). /proc counts in clock ticks (usually 10 ms):
 *   single transfers are coarse, the sum over many is not.
 * - "in-process-estimate" (the default in-process network): every node, the client and the
 *   bench server share one process; the meter takes process.cpuUsage() around each
 *   transfer and divides by (MB × hops). It charges the relays with the client's and the
 *   server's work too, so it overstates a relay's cost.
 * - "unavailable" (`--network`): the relays are someone else's processes.
 *
 * Not here: when transfers happen (bench.ts).
 */
import { toHex } from '../src/bytes.js';
import { processCpuMs, round3 } from './bench-stats.js';

export type RelayCpuMethod = 'per-process' | 'in-process-estimate' | 'unavailable';

export interface RelayCpuFigure {
  readonly relay: string;
  readonly pid: number;
  readonly cpuMs: number;
  readonly mb: number;
  readonly msPerMB: number | null;
}

export interface RelayCpu {
  /** Σ cpuMs / Σ MB relayed; null when nothing was measured. */
  readonly mean: number | null;
  readonly cpuMs: number;
  /** MB (10^6 bytes) relayed, counted once per relay of each transfer's circuit. */
  readonly mbRelayed: number;
  /** Per relay (per-process only; empty otherwise). */
  readonly relays: readonly RelayCpuFigure[];
}

/** The relays of one transfer's circuit, as the meter needs them. */
export interface MeteredCircuit {
  readonly hops: readonly { readonly identity: Uint8Array }[];
}

export interface CpuMeter {
  readonly method: RelayCpuMethod;
  /** A snapshot taken just before a transfer. */
  before(): unknown;
  /** After a completed transfer of `bytes` over `circuit`, with the snapshot from before(). */
  after(snapshot: unknown, circuit: MeteredCircuit, bytes: number): void;
  result(): RelayCpu;
}

export interface RelayProcess {
  readonly nickname: string;
  /** Hex Ed25519 identity. */
  readonly identity: string;
  readonly pid: number;
}

export function inProcessCpuMeter(): CpuMeter {
  let cpuMs = 0;
  let mbRelayed = 0;
  return {
    method: 'in-process-estimate',
    before: () => process.cpuUsage(),
    after(snapshot, circuit, bytes) {
      const d = process.cpuUsage(snapshot as NodeJS.CpuUsage);
      cpuMs += (d.user + d.system) / 1000;
      mbRelayed += (bytes / 1e6) * circuit.hops.length;
    },
    result: () => ({ mean: mbRelayed > 0 ? round3(cpuMs / mbRelayed) : null, cpuMs: round3(cpuMs), mbRelayed: round3(mbRelayed), relays: [] }),
  };
}

export function perProcessCpuMeter(relays: readonly RelayProcess[]): CpuMeter {
  const byIdentity = new Map(relays.map((r) => [r.identity, r]));
  const totals = new Map<string, { cpuMs: number; mb: number }>();
  const readAll = (): Map<string, number> => {
    const m = new Map<string, number>();
    for (const r of relays) {
      try {
        m.set(r.identity, processCpuMs(r.pid));
      } catch {
        // A relay that died has no CPU time to read; the transfer through it failed anyway.
      }
    }
    return m;
  };
  return {
    method: 'per-process',
    before: readAll,
    after(snapshot, circuit, bytes) {
      const start = snapshot as Map<string, number>;
      for (const hop of circuit.hops) {
        const id = toHex(hop.identity);
        const relay = byIdentity.get(id);
        const t0 = start.get(id);
        if (!relay || t0 === undefined) continue;
        let t1: number;
        try {
          t1 = processCpuMs(relay.pid);
        } catch {
          continue;
        }
        const total = totals.get(id) ?? { cpuMs: 0, mb: 0 };
        total.cpuMs += t1 - t0;
        total.mb += bytes / 1e6;
        totals.set(id, total);
      }
    },
    result() {
      const figures: RelayCpuFigure[] = relays
        .filter((r) => totals.has(r.identity))
        .map((r) => {
          const t = totals.get(r.identity)!;
          return { relay: r.nickname, pid: r.pid, cpuMs: round3(t.cpuMs), mb: round3(t.mb), msPerMB: t.mb > 0 ? round3(t.cpuMs / t.mb) : null };
        });
      const cpuMs = figures.reduce((a, f) => a + f.cpuMs, 0);
      const mb = [...totals.values()].reduce((a, t) => a + t.mb, 0);
      return { mean: mb > 0 ? round3(cpuMs / mb) : null, cpuMs: round3(cpuMs), mbRelayed: round3(mb), relays: figures };
    },
  };
}

export function unavailableCpuMeter(): CpuMeter {
  return {
    method: 'unavailable',
    before: () => null,
    after: () => {},
    result: () => ({ mean: null, cpuMs: 0, mbRelayed: 0, relays: [] }),
  };
}
