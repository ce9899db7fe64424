/**
 * The CI-sized chat load run (issue #9): `chive bench load`'s engine on a process testnet
 * of 20 relays (5 per process) with 20 headless chat clients in 2 worker processes, pairs
 * chatting for 30 s. Every message must be delivered exactly once and in order, with
 * nothing failed; the figures are printed so a regression shows in the CI log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../testnet/load.js';

const dir = mkdtempSync(join(tmpdir(), 'chive-load-ci-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chat load (CI size)', () => {
  it('20 relays, 20 clients, 30 s: every message delivered once, in order', async () => {
    const lines: string[] = [];
    const result = await runLoad({
      dir, relays: 20, relaysPerProcess: 5, clients: 20, workers: 2, rate: 0.5, durationMs: 30_000,
      onProgress: (l) => lines.push(l),
    });
    console.log(`load: sent ${result.sent}, delivered ${result.delivered}, dup ${result.duplicates}, ooo ${result.outOfOrder}, `
      + `RTT p50 ${result.rttMs.p50} / p95 ${result.rttMs.p95} / p99 ${result.rttMs.p99} ms, builds ${result.circuitBuilds} (${result.circuitBuildFailures} failed)`);
    expect(result.clientsReady, lines.slice(-20).join('\n')).toBe(20);
    expect(result.sent).toBeGreaterThanOrEqual(20 * 0.5 * 30 * 0.8);
    expect(result.delivered).toBe(result.sent);
    expect(result.received).toBe(result.sent);
    expect(result.duplicates).toBe(0);
    expect(result.outOfOrder).toBe(0);
    expect(result.failed).toBe(0);
    expect(result.nodes.filter((n) => n.role === 'relay').reduce((k, n) => k + n.members, 0)).toBe(20);
    expect(result.ok).toBe(true);
  }, 240_000);
});
