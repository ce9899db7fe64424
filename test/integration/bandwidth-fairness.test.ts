/**
 * Bandwidth limits over real loopback links: relay A (BandwidthRate 256 KiB/s) → relay B
 * (exit) → a load server. Two bulk circuits download without end, answering with SENDMEs,
 * so A's scheduler always has a queue; an interactive circuit sharing A's link to the
 * client echoes 64 bytes at a time.
 *   - A writes at its rate (cells sent by its scheduler × CELL_LEN, measured over 2.5 s),
 *     within 15 % below and 10 % above;
 *   - the bulk circuits really queue at A (the cells waiting there amount to ≥ 150 ms at
 *     the rate: without round-robin an interactive cell would wait behind them);
 *   - the interactive round trip stays far below that queueing: p95 under a quarter of it,
 *     p50 under a tenth (a FIFO scheduler would give the whole queueing delay).
 * Run with both crypto providers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { CELL_LEN } from '../../src/wire/constants.js';
import { startRelay, type RunningRelay } from '../../relay/index.js';
import { RawLink } from './raw-circuit.js';
import { StreamCircuit, percentile, startLoadServer } from './bandwidth-harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'chive-bw-'));
  dirs.push(d);
  return d;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(allCryptoProviders())('a rate-limited relay over loopback ($name)', (provider) => {
  it('writes at its rate while an interactive circuit keeps a low round trip next to saturating bulk circuits', async () => {
    const rate = 256 * 1024;
    const relays: RunningRelay[] = [];
    const server = await startLoadServer();
    let raw: RawLink | undefined;
    try {
      const a = await startRelay({ dataDir: tempDir(), provider, limits: { bandwidthRate: rate, bandwidthBurst: 64 * 1024 } });
      relays.push(a);
      const b = await startRelay({ dataDir: tempDir(), provider, exitPolicy: 'accept 127.0.0.1/32:*' });
      relays.push(b);
      const scheduler = a.node.scheduler!;
      expect(scheduler).not.toBeNull();
      expect(b.node.scheduler).toBeNull(); // no limit: the direct path

      raw = await RawLink.open(provider, a.info);
      const path = [a.info, b.info];
      const bulk = [await StreamCircuit.open(raw, path, server.port, 'bulk'), await StreamCircuit.open(raw, path, server.port, 'bulk')];
      const chat = await StreamCircuit.open(raw, path, server.port, 'echo');
      await chat.echo(); // the echo stream works
      await sleep(600); // the bulk circuits fill A's queues

      const sent0 = scheduler.stats.cellsSent;
      const t0 = performance.now();
      const rtts: number[] = [];
      const queueMs: number[] = [];
      const sampler = setInterval(() => queueMs.push((scheduler.stats.queuedCells * CELL_LEN * 1000) / rate), 50);
      while (performance.now() - t0 < 2500) {
        rtts.push(await chat.echo());
        await sleep(20);
      }
      clearInterval(sampler);
      const elapsed = performance.now() - t0;
      const written = ((scheduler.stats.cellsSent - sent0) * CELL_LEN * 1000) / elapsed;
      for (const c of bulk) expect(c.failed).toBeNull();
      expect(bulk.every((c) => c.received > 100_000)).toBe(true);

      rtts.sort((x, y) => x - y);
      queueMs.sort((x, y) => x - y);
      const bulkQueueMs = percentile(queueMs, 0.5);
      const p50 = percentile(rtts, 0.5);
      const p95 = percentile(rtts, 0.95);
      console.log(
        `${provider.name}: written ${(written / 1024).toFixed(1)} KiB/s (cap ${rate / 1024}); bulk queue at A p50 ${bulkQueueMs.toFixed(0)} ms; ` +
          `interactive RTT p50 ${p50.toFixed(1)} ms p95 ${p95.toFixed(1)} ms over ${rtts.length} echoes; throttled ${scheduler.stats.throttledMs.toFixed(0)} ms`,
      );
      expect(written).toBeGreaterThan(0.85 * rate);
      expect(written).toBeLessThan(1.1 * rate);
      expect(bulkQueueMs).toBeGreaterThanOrEqual(150);
      expect(rtts.length).toBeGreaterThanOrEqual(10);
      expect(p95).toBeLessThan(bulkQueueMs / 4);
      expect(p50).toBeLessThan(bulkQueueMs / 10);
    } finally {
      raw?.link.close();
      await Promise.all(relays.map((r) => r.close()));
      await server.close();
    }
  }, 30_000);
});
