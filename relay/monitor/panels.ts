/**
 * The monitor's pages, as styled lines for a screen of a given size: a header (relay,
 * uptime, flags), warnings, the page, and a footer with the keys. Pages:
 *   1 overview   bandwidth graphs in / out with the cap, circuits, links, cells per second,
 *                CPU and memory, overload indicators, key rotation, accounting, log tail
 *   2 flags      the consensus flags and weight in plain words
 *   3 limits     keys (onion rotation, offline identity's signing key), bandwidth limit
 *                and its queue, accounting and hibernation
 *   4 log        the tail of LogFile
 * Every page fits 80x24 and uses more room when there is more.
 *
 * Pure: model and time in, lines out (the screen turns them into blessed tags; tests read
 * them as text). Not the data (model.ts) and not the terminal (screen.ts).
 */
import { explainFlags, explainWeight } from './flags.js';
import {
  type Line, bar, fitLine, formatCount, formatRate, formatSize, formatUntil, formatApproxDuration, line, pad, plain, seg, shortHex,
} from './format.js';
import { renderGraph } from './graph.js';
import { formatLogLine } from './log-tail.js';
import type { MonitorModel, Rates, RelayView } from './model.js';

export const PAGES = ['overview', 'flags', 'limits', 'log'] as const;
export type Page = (typeof PAGES)[number];
const PAGE_TITLES: Record<Page, string> = { overview: 'overview', flags: 'flags', limits: 'keys & limits', log: 'log' };

export interface ScreenInput {
  readonly model: MonitorModel;
  readonly page: Page;
  readonly width: number;
  readonly height: number;
  /** ms since the epoch, for "in 3 days" (the relay's clock when known). */
  readonly now: number;
  /** Raw log lines (newest last), or why there are none. */
  readonly log: readonly string[] | string;
  /** What is being watched, e.g. "http://127.0.0.1:9035". */
  readonly source: string;
}

/** The whole screen: exactly `height` lines of at most `width` columns. */
export function renderScreen(input: ScreenInput): Line[] {
  const { width, height } = input;
  const top = [header(input), ...alerts(input)];
  const bottom = [footer(input.page, width)];
  const room = Math.max(0, height - top.length - bottom.length);
  const v = input.model.latest;
  const body = v === null ? waiting(input) : PAGE_RENDERERS[input.page](v, input, room);
  const lines = [...top, ...body.slice(0, room)];
  while (lines.length < height - bottom.length) lines.push([]);
  return [...lines, ...bottom].slice(0, height).map((l) => fitLine(l, width));
}

const PAGE_RENDERERS: Record<Page, (v: RelayView, input: ScreenInput, room: number) => Line[]> = {
  overview: overviewPage,
  flags: flagsPage,
  limits: limitsPage,
  log: (_v, input, room) => logPage(input, room),
};

function header(input: ScreenInput): Line {
  const v = input.model.latest;
  const text = v
    ? ` chive monitor | ${v.nickname} ${shortHex(v.identity)} | up ${formatApproxDuration(v.uptimeSeconds * 1000)} | ${v.flags.length > 0 ? v.flags.join(' ') : 'not in the consensus'}`
    : ` chive monitor | ${input.source}`;
  return [seg(pad(text, input.width), 'inverse')];
}

function alerts(input: ScreenInput): Line[] {
  const out: Line[] = [];
  if (input.model.error !== null) out.push(line(seg(`cannot read ${input.source}/status.json: ${input.model.error} (retrying)`, 'red')));
  const v = input.model.latest;
  if (v) for (const w of v.warnings) out.push(line(seg(`! ${w}`, w.includes('hibernat') || w.includes('expired') ? 'red' : 'yellow')));
  return out.slice(0, 3);
}

function footer(page: Page, width: number): Line {
  const parts = PAGES.map((p, i) => seg(` ${i + 1} ${PAGE_TITLES[p]} `, p === page ? 'inverse' : undefined));
  const used = plain(parts).length;
  return [...parts, seg(pad('  ←/→ switch  q quit', Math.max(0, width - used)), 'dim')];
}

function waiting(input: ScreenInput): Line[] {
  return [line(''), line(`  waiting for the first status from ${input.source}/status.json …`)];
}

const latestRates = (m: MonitorModel): Rates | null => m.history[m.history.length - 1] ?? null;

function overviewPage(v: RelayView, input: ScreenInput, room: number): Line[] {
  const { width, model } = input;
  const r = latestRates(model);
  const stats = overviewStats(v, r, input.now);
  const graphRows = Math.max(2, Math.min(12, Math.floor((room - stats.length - 3) / 2) - 1));
  const history = model.history;
  const graph = (label: string, pick: (x: Rates) => number, style: 'green' | 'cyan') =>
    renderGraph(history.map(pick), { label, width, height: graphRows, rate: v.bandwidthRate, burst: v.bandwidthBurst, style });
  const lines = [...graph('in ', (x) => x.bytesIn, 'green'), ...graph('out', (x) => x.bytesOut, 'cyan'), ...stats];
  const logRoom = room - lines.length - 1;
  if (logRoom > 0) {
    lines.push(line(seg('log', 'bold'), seg(typeof input.log === 'string' ? `  ${input.log}` : '', 'dim')));
    if (typeof input.log !== 'string') lines.push(...input.log.slice(-logRoom).map(formatLogLine));
  }
  return lines;
}

function overviewStats(v: RelayView, r: Rates | null, now: number): Line[] {
  const rate = (x: number | undefined): string => (x === undefined ? '…' : formatCount(x));
  const hot = (n: number | undefined): 'red' | undefined => (n !== undefined && n > 0 ? 'red' : undefined);
  const limitRefusals = ['create_rate', 'max_circuits', 'max_circuits_per_link', 'max_links', 'hibernating', 'flow_control'].reduce((s, k) => s + (v.refusals[k] ?? 0), 0);
  const bandwidth = v.queue
    ? line(
        seg('bandwidth ', 'bold'),
        seg(`throttled ${r ? Math.round(r.throttled * 100) : 0} % of the last second`, r && r.throttled > 0.5 ? 'yellow' : undefined),
        `   queued ${formatSize(v.queue.bytes)} on ${v.queue.activeCircuits} circuit queues`,
      )
    : line(seg('bandwidth ', 'bold'), 'no BandwidthRate: no cap');
  return [
    line(
      seg('circuits ', 'bold'), `${v.circuits} (+${rate(r?.circuitsCreated)}/s)`,
      seg('   links ', 'bold'), `${v.links}`,
      seg('   cells/s ', 'bold'), `in ${rate(r?.cellsIn)} out ${rate(r?.cellsOut)}`,
      seg('   cpu ', 'bold'), r ? `${r.cpuPercent.toFixed(1)} %` : '…',
    ),
    line(
      seg('memory ', 'bold'), `rss ${formatSize(v.rssBytes)} heap ${formatSize(v.heapUsedBytes)}`,
      seg('   sent ', 'bold'), `${formatSize(v.bytesWritten)}`, seg('   received ', 'bold'), `${formatSize(v.bytesRead)}`,
    ),
    line(
      seg('overload ', 'bold'),
      seg(`handshakes dropped ${v.handshakeFailures}`, hot(r?.handshakeFailures)),
      seg(`   OOM kills ${v.oomKills}`, hot(r?.oomKills)),
      seg(`   rate-limit refusals ${limitRefusals}`, hot(r?.limitRefusals)),
    ),
    bandwidth,
    line(seg('keys ', 'bold'), keySummary(v, now)),
    line(seg('accounting ', 'bold'), ...accountingSummary(v, now)),
  ];
}

function keySummary(v: RelayView, now: number): string {
  const onion = v.onionKeyRotatesAt !== null ? `onion key rotates ${formatUntil(v.onionKeyRotatesAt, now)}` : 'onion key rotation unknown';
  if (!v.identityOffline || v.signingKeyExpiresAt === null) return `${onion}   identity online`;
  return `${onion}   signing key expires ${formatUntil(v.signingKeyExpiresAt, now)}`;
}

function accountingSummary(v: RelayView, now: number): (string | ReturnType<typeof seg>)[] {
  const a = v.accounting;
  if (a === null) return ['no AccountingMax'];
  const pct = a.max > 0 ? (a.used / a.max) * 100 : 0;
  return [
    `${formatSize(a.used)} of ${formatSize(a.max)} ${periodPhrase(a.period)} (${pct.toFixed(1)} %), resets ${formatUntil(a.periodEnd, now)}`,
    ...(a.hibernating ? [seg('  HIBERNATING', 'red')] : []),
  ];
}

/** "today", "this week", "this month". */
function periodPhrase(period: string): string {
  return period === 'day' ? 'today' : `this ${period}`;
}

/** Word-wraps plain text to `width` columns. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (cur === '') cur = word;
    else if (cur.length + 1 + word.length <= width) cur += ` ${word}`;
    else {
      out.push(cur);
      cur = word;
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

function flagsPage(v: RelayView, input: ScreenInput): Line[] {
  const w = input.width;
  const listed = v.flags.length > 0;
  const out: Line[] = [
    line(seg('consensus ', 'bold'), v.consensusRelays === null ? 'none fetched yet' : `${v.consensusRelays} relays${listed ? ', this one among them' : ', not this one'}`),
    line(''),
  ];
  for (const f of explainFlags(v.flags)) {
    const lines = wrap(f.text, Math.max(20, w - 12));
    out.push(line(seg(f.has ? ' ✓ ' : ' - ', f.has ? 'green' : 'dim'), seg(pad(f.flag, 9), f.has ? 'bold' : 'dim'), seg(lines[0] ?? '', f.has ? undefined : 'dim')));
    for (const more of lines.slice(1)) out.push(line(' '.repeat(12), seg(more, f.has ? undefined : 'dim')));
  }
  out.push(line(''));
  for (const l of wrap(explainWeight(v.weight, v.consensusWeightTotal, listed), w - 2)) out.push(line(' ', l));
  out.push(line(''), line(seg('address ', 'bold'), v.url, seg('   exit ', 'bold'), v.exit ? 'yes' : 'no', seg('   version ', 'bold'), v.version));
  return out;
}

function limitsPage(v: RelayView, input: ScreenInput): Line[] {
  const now = input.now;
  const r = latestRates(input.model);
  const out: Line[] = [line(seg('keys', 'bold'))];
  out.push(line('  identity     ', shortHex(v.identity), v.identityOffline ? '  kept offline' : '  online (keys/identity.key)'));
  if (v.identityOffline && v.signingKeyExpiresAt !== null) {
    const left = v.signingKeyExpiresAt - now;
    const style = left <= 0 ? 'red' : left < 7 * 86400_000 ? 'yellow' : undefined;
    out.push(line('  signing key  ', seg(`expires ${formatUntil(v.signingKeyExpiresAt, now)} (${new Date(v.signingKeyExpiresAt).toISOString()})`, style)));
    if (style !== undefined) out.push(line('               renew: chive relay keygen --data-directory DIR --identity-key <offline identity.key>'));
  }
  if (v.onionKeyRotatesAt !== null) out.push(line('  onion key    ', `rotates ${formatUntil(v.onionKeyRotatesAt, now)} (${new Date(v.onionKeyRotatesAt).toISOString()})`));
  out.push(line(''), line(seg('bandwidth', 'bold')));
  if (v.bandwidthRate > 0 && v.queue) {
    out.push(line(`  rate ${formatRate(v.bandwidthRate)} each way, burst ${formatSize(v.bandwidthBurst)}`));
    out.push(line(`  queued ${formatSize(v.queue.bytes)} (${v.queue.cells} cells) on ${v.queue.activeCircuits} circuit queues; throttled ${r ? Math.round(r.throttled * 100) : 0} % of the last second`));
    out.push(line(`  circuits destroyed for overfull queues: ${v.queue.overflowKills}`));
  } else out.push(line('  no BandwidthRate: cells go out as fast as the links take them'));
  out.push(line(''), line(seg('accounting', 'bold')));
  const a = v.accounting;
  if (a === null) out.push(line('  no AccountingMax: no limit per period'));
  else {
    const fraction = a.max > 0 ? a.used / a.max : 0;
    out.push(line(`  ${formatSize(a.used)} of ${formatSize(a.max)} ${periodPhrase(a.period)}  `, seg(bar(fraction, 20), fraction >= 0.9 ? 'red' : 'green'), ` ${(fraction * 100).toFixed(1)} %`));
    out.push(line(`  period ${new Date(a.periodStart).toISOString().slice(0, 10)} → ${new Date(a.periodEnd).toISOString().slice(0, 10)}, resets ${formatUntil(a.periodEnd, now)}`));
    out.push(a.hibernating ? line('  ', seg(`HIBERNATING: new circuits refused until ${new Date(a.periodEnd).toISOString()}`, 'red')) : line('  not hibernating'));
  }
  return out;
}

function logPage(input: ScreenInput, room: number): Line[] {
  if (typeof input.log === 'string') return [line(seg(input.log, 'dim'))];
  if (input.log.length === 0) return [line(seg('(the log is empty)', 'dim'))];
  return input.log.slice(-room).map(formatLogLine);
}
