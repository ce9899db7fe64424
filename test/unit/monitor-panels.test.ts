/**
 * `chive monitor` without a terminal (relay/monitor/): the pure parts tested directly.
 *   - /status.json as RelayMetrics serves it reads into a RelayView; garbage reads as defaults;
 *   - rates between snapshots (bytes, cells, CPU, throttling, overload deltas); a restart resets;
 *   - the bandwidth graph: block heights, the cap line, the newest sample at the right;
 *   - every page fits 80x24 exactly and says what it should (circuits, flags in words, the
 *     signing key's expiry with the renewal command, hibernation, the log tail);
 *   - log lines are cleaned of escape sequences; blessed tags in text are escaped;
 *   - keys switch pages, q quits; the number formats.
 * No crypto is involved.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelayMetrics } from '../../relay/metrics.js';
import { RATE_MARK, renderGraph } from '../../relay/monitor/graph.js';
import { addSnapshot, emptyModel, parseRelayStatus, ratesBetween, type RelayView } from '../../relay/monitor/model.js';
import { renderScreen, wrap, type Page } from '../../relay/monitor/panels.js';
import { formatLogLine, readLogTail } from '../../relay/monitor/log-tail.js';
import { explainFlags, explainWeight } from '../../relay/monitor/flags.js';
import { formatCount, formatSize, formatUntil, plain, clean } from '../../relay/monitor/format.js';
import { MonitorSession } from '../../relay/monitor/session.js';
import { toTags } from '../../relay/monitor/screen.js';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const DAY = 86400_000;

/** A /status.json document as the daemon serves it, with counters scaled by `k`. */
function statusDoc(k: number, extra: Record<string, unknown> = {}): unknown {
  let t = T0 + k * 1000;
  const m = new RelayMetrics({ defaultMetrics: false, now: () => t });
  t = T0 + k * 1000;
  m.setTotals({
    cellsIn: { client: 1000 * k },
    cellsOut: { client: 990 * k },
    bytesRead: 512_000 * k,
    bytesWritten: 500_000 * k,
    circuitsCreated: 3 * k,
    refusals: { create_rate: k, replay: 2 },
    oomKills: 0,
    handshakes: { ntor: { ok: 10 * k, fail: k } },
  });
  m.setCircuits(12);
  m.setLinks('client', 4);
  m.setStatus({
    nickname: 'Alpha', identity: 'ab'.repeat(32), url: 'ws://203.0.113.9:9001', version: 'chive 0.1.0', exit: false,
    flags: ['RUNNING', 'FAST', 'GUARD'], weight: 1_048_576, consensusRelays: 6, consensusWeightTotal: 8_388_608, consensusValidAfter: T0,
    onionKeyRotatesAt: T0 + 6 * DAY, identityOffline: false, signingKeyExpiresAt: null,
    bandwidthRate: 1_048_576, bandwidthBurst: 2_097_152,
    bandwidthQueue: { cells: 100, bytes: 51_400, throttledMs: 600 * k, activeCircuits: 2, overflowKills: 0 },
    accounting: null, hibernating: false, logFile: null, warnings: [], ...extra,
  });
  const snap = m.snapshot();
  return JSON.parse(JSON.stringify({ ...snap, uptimeSeconds: 100 + k }));
}

function modelOf(n: number, extra: Record<string, unknown> = {}) {
  let model = emptyModel();
  for (let k = 1; k <= n; k++) model = addSnapshot(model, parseRelayStatus(statusDoc(k, extra)));
  return model;
}

function screenText(page: Page, extra: Record<string, unknown> = {}, log: readonly string[] | string = []): string[] {
  const lines = renderScreen({ model: modelOf(5, extra), page, width: 80, height: 24, now: T0, log, source: 'http://127.0.0.1:9035' });
  expect(lines).toHaveLength(24);
  const text = lines.map(plain);
  for (const l of text) expect([...l].length).toBeLessThanOrEqual(80);
  return text;
}

describe('monitor model', () => {
  it('reads /status.json as the relay serves it', () => {
    const v = parseRelayStatus(statusDoc(2));
    expect(v).toMatchObject({
      nickname: 'Alpha', circuits: 12, links: 4, cellsIn: 2000, cellsOut: 1980, bytesRead: 1_024_000, bytesWritten: 1_000_000,
      handshakeFailures: 2, flags: ['RUNNING', 'FAST', 'GUARD'], bandwidthRate: 1_048_576, time: T0 + 2000,
    });
    expect(v.queue).toEqual({ cells: 100, bytes: 51_400, throttledMs: 1200, activeCircuits: 2, overflowKills: 0 });
    expect(v.refusals.create_rate).toBe(2);
  });

  it('reads garbage as defaults, without throwing', () => {
    for (const doc of [null, 42, 'x', [], { status: { flags: 'RUNNING', weight: 'big' }, circuits: '7' }]) {
      const v = parseRelayStatus(doc);
      expect(v.circuits).toBe(0);
      expect(v.flags).toEqual([]);
      expect(v.weight).toBe(0);
      expect(v.queue).toBeNull();
    }
  });

  it('computes rates between snapshots, and starts over after a restart', () => {
    const a = parseRelayStatus(statusDoc(1));
    const b = parseRelayStatus(statusDoc(3));
    const r = ratesBetween(a, b)!;
    expect(r.seconds).toBe(2);
    expect(r.bytesIn).toBe(512_000);
    expect(r.bytesOut).toBe(500_000);
    expect(r.cellsIn).toBe(1000);
    expect(r.circuitsCreated).toBe(3);
    expect(r.throttled).toBeCloseTo(0.6);
    expect(r.handshakeFailures).toBe(2);
    expect(r.limitRefusals).toBe(2);
    expect(ratesBetween(b, a)).toBeNull();
    const restarted = { ...parseRelayStatus(statusDoc(4)), uptimeSeconds: 1 } as RelayView;
    const model = addSnapshot(modelOf(3), restarted);
    expect(model.history).toEqual([]);
  });
});

describe('bandwidth graph', () => {
  it('draws eighth-block bars, the newest at the right, and the cap as a dotted line', () => {
    const rate = 10_240; // the scale is rate × 1.1: bars of 0, 7, 15 and 4 eighths over two rows
    const rows = renderGraph([0, rate / 2, rate, rate / 4], { label: 'in', width: 6, height: 2, rate, burst: rate, style: 'green' }).map(plain);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^in /);
    expect(rows[1]).toBe(`${RATE_MARK.repeat(4)}▇${RATE_MARK}`); // the cap (91 % of the scale) falls in the top row
    expect(rows[2]).toBe('   ▇█▄');
  });

  it('without a cap: no line, and the scale follows the peak', () => {
    const rows = renderGraph([100_000, 200_000], { label: 'out', width: 40, height: 3, rate: 0, burst: 0, style: 'cyan' }).map(plain);
    expect(rows[0]).toContain('no cap');
    expect(rows.slice(1).join('')).not.toContain(RATE_MARK);
    expect(rows.slice(1).map((r) => r.slice(-2))).toEqual([' ▆', '▃█', '██']); // 11 and 22 eighths of 24
  });
});

describe('monitor pages at 80x24', () => {
  it('overview: graphs, circuits, cells per second, CPU, overload, keys, log tail', () => {
    const text = screenText('overview', {}, ['{"level":"info","time":"2026-11-22T12:00:01.000Z","msg":"relay listening","circId":7}']);
    const all = text.join('\n');
    expect(text[0]).toContain('chive monitor | Alpha');
    expect(text[0]).toContain('RUNNING FAST GUARD');
    expect(all).toContain('in  500 KB/s');
    expect(all).toContain('out 488 KB/s');
    expect(all).toContain('cap 1 MB/s burst 2 MB/s');
    expect(all).toContain('circuits 12 (+3/s)');
    expect(all).toContain('cells/s in 1000 out 990');
    expect(all).toContain('handshakes dropped 5');
    expect(all).toContain('throttled 60 % of the last second');
    expect(all).toContain('onion key rotates in 6 days');
    expect(all).toContain('12:00:01 INFO  relay listening  circId=7');
    expect(text[23]).toContain('1 overview');
    expect(text[23]).toContain('q quit');
  });

  it('flags: each flag in plain words, the weight as a share', () => {
    const all = screenText('flags').join('\n');
    expect(all).toContain('✓ RUNNING');
    expect(all).toContain('entry guard');
    expect(all).toContain(' - EXIT');
    expect(all).toContain('12.5 %');
  });

  it('keys & limits: an offline identity whose signing key expires soon, accounting, hibernation', () => {
    const all = screenText('limits', {
      identityOffline: true, signingKeyExpiresAt: T0 + 3 * DAY,
      accounting: { max: 1_073_741_824, period: 'month', periodStart: T0 - DAY, periodEnd: T0 + 9 * DAY, used: 1_073_741_824, hibernating: true },
      hibernating: true,
      warnings: ['the signing key expires in 3 days (…); renew with: chive relay keygen …', 'accounting: 1 GB of AccountingMax 1 GB used this month; hibernating until …'],
    }).join('\n');
    expect(all).toContain('kept offline');
    expect(all).toContain('expires in 3 days');
    expect(all).toContain('renew: chive relay keygen');
    expect(all).toContain('HIBERNATING: new circuits refused');
    expect(all).toContain('! the signing key expires in 3 days');
  });

  it('log: the tail, cleaned; a relay logging to stderr says how to get it', () => {
    const evil = JSON.stringify({ level: 'warn', time: '2026-11-22T12:00:02.000Z', msg: 'x\u001b[2J\u001b]0;pwned\u0007y' });
    const text = screenText('log', {}, ['not json \u001b[31mred', evil]);
    const all = text.join('\n');
    expect(all).not.toContain('\u001b');
    expect(all).toContain('12:00:02 WARN');
    expect(screenText('log', {}, 'the relay logs to stderr: set LogFile').join('\n')).toContain('set LogFile');
  });

  it('before the first snapshot, and after a failed fetch', () => {
    const lines = renderScreen({
      model: { ...emptyModel(), error: 'ECONNREFUSED' }, page: 'overview', width: 80, height: 24, now: T0, log: [], source: 'http://127.0.0.1:9035',
    }).map(plain);
    expect(lines).toHaveLength(24);
    expect(lines.join('\n')).toContain('ECONNREFUSED (retrying)');
    expect(lines.join('\n')).toContain('waiting for the first status');
  });
});

describe('monitor helpers', () => {
  it('keys switch pages and q quits', async () => {
    const docs = [statusDoc(1), statusDoc(2)];
    const session = new MonitorSession({ baseUrl: 'http://127.0.0.1:1', fetch: async () => docs.shift() });
    await session.refresh();
    await session.refresh();
    expect(session.model.history).toHaveLength(1);
    expect(session.key('2')).toBe('redraw');
    expect(session.page).toBe('flags');
    expect(session.key('right')).toBe('redraw');
    expect(session.page).toBe('limits');
    expect(session.key('tab')).toBe('redraw');
    expect(session.key('tab')).toBe('redraw');
    expect(session.page).toBe('overview');
    expect(session.key('left')).toBe('redraw');
    expect(session.page).toBe('log');
    expect(session.key('4')).toBeNull();
    expect(session.key('x')).toBeNull();
    expect(session.key('q')).toBe('quit');
    expect(session.key('C-c')).toBe('quit');
    await session.refresh(); // no document left: an error, the model kept
    expect(session.model.latest).not.toBeNull();
  });

  it('escapes blessed tags in text', () => {
    expect(toTags([{ text: 'a{bold}b}' }, { text: 'x', style: 'red' }])).toBe('a{open}bold{close}b{close}{red-fg}x{/red-fg}');
  });

  it('formats sizes, counts, spans; cleans control characters; wraps', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatSize(1_048_576)).toBe('1 MB');
    expect(formatSize(123 * 1024 * 1024)).toBe('123 MB');
    expect(formatCount(950)).toBe('950');
    expect(formatCount(12_345)).toBe('12k');
    expect(formatCount(0.5)).toBe('0.5');
    expect(formatUntil(T0 + DAY + 3_600_000, T0)).toBe('in 1 day 1 h');
    expect(formatUntil(T0 - 90_000, T0)).toBe('1 min 30 s ago');
    expect(clean('a\u001b[31mb\u0007c')).toBe('ab c');
    expect(wrap('one two three four', 9)).toEqual(['one two', 'three', 'four']);
  });

  it('explains flags it has first, then those it lacks; the weight with and without a consensus', () => {
    const e = explainFlags(['FAST', 'RUNNING']);
    expect(e.slice(0, 2).map((x) => [x.flag, x.has])).toEqual([['RUNNING', true], ['FAST', true]]);
    expect(e.find((x) => x.flag === 'GUARD')).toMatchObject({ has: false });
    expect(explainWeight(0, null, false)).toContain('Not in the consensus');
    expect(explainWeight(500, 1000, true)).toContain('50.0 %');
  });

  it('reads the last lines of a log file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chive-mon-'));
    const file = join(dir, 'log');
    writeFileSync(file, Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(readLogTail(file, 3)).toEqual({ lines: ['line 47', 'line 48', 'line 49'] });
    expect(readLogTail(join(dir, 'missing'), 3)).toMatchObject({ error: expect.stringContaining('ENOENT') });
    expect(plain(formatLogLine('{"level":"error","time":"2026-11-22T01:02:03.000Z","msg":"boom","code":"X"}'))).toBe('01:02:03 ERROR boom  code=X');
  });
});
