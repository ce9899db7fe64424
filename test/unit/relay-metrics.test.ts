import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { Registry } from 'prom-client';
import { RelayMetrics, type MetricsServer, type RefusalReason, isLoopbackHost, startMetricsServer } from '../../relay/metrics.js';

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(metrics: RelayMetrics): Promise<MetricsServer> {
  const server = await metrics.startServer({ port: 0 });
  servers.push(server);
  return server;
}

/** One raw HTTP request (to set a Host header fetch would not let us set). */
function rawGet(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one series in Prometheus text, e.g. series(text, 'chive_relay_refusals_total{reason="replay"}'). */
function series(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('RelayMetrics', () => {
  it('counts and serves the counters on GET /metrics over HTTP on 127.0.0.1', async () => {
    const m = new RelayMetrics();
    m.countCellsIn('client', 3);
    m.countCellsIn('relay');
    m.countCellsOut('relay', 7);
    m.countBytesRead(514 * 4);
    m.countBytesWritten(514 * 7);
    m.circuitCreated();
    m.circuitCreated();
    m.circuitDestroyed('requested');
    m.circuitDestroyed('resource_limit');
    m.setCircuits(1);
    m.setLinks('client', 2);
    m.setLinks('relay', 5);
    m.handshake('ntor', 'ok');
    m.handshake('noise_xk', 'fail');
    m.refused('create_rate', 4);
    m.refused('replay');
    m.setQueueBytes(12345);
    m.oomKilled(2);
    const server = await serve(m);
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const expected: [string, number][] = [
      ['chive_relay_cells_in_total{link_kind="client"}', 3],
      ['chive_relay_cells_in_total{link_kind="relay"}', 1],
      ['chive_relay_cells_out_total{link_kind="relay"}', 7],
      ['chive_relay_cells_out_total{link_kind="client"}', 0],
      ['chive_relay_bytes_read_total', 514 * 4],
      ['chive_relay_bytes_written_total', 514 * 7],
      ['chive_relay_circuits', 1],
      ['chive_relay_circuits_created_total', 2],
      ['chive_relay_circuits_destroyed_total{reason="requested"}', 1],
      ['chive_relay_circuits_destroyed_total{reason="resource_limit"}', 1],
      ['chive_relay_circuits_destroyed_total{reason="protocol"}', 0],
      ['chive_relay_links{link_kind="client"}', 2],
      ['chive_relay_links{link_kind="relay"}', 5],
      ['chive_relay_handshakes_total{kind="ntor",result="ok"}', 1],
      ['chive_relay_handshakes_total{kind="noise_xk",result="fail"}', 1],
      ['chive_relay_handshakes_total{kind="noise_nk",result="ok"}', 0],
      ['chive_relay_refusals_total{reason="create_rate"}', 4],
      ['chive_relay_refusals_total{reason="replay"}', 1],
      ['chive_relay_refusals_total{reason="max_links"}', 0],
      ['chive_relay_queue_bytes', 12345],
      ['chive_relay_oom_kills_total', 2],
    ];
    for (const [name, value] of expected) expect(series(text, name), name).toBe(value);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total [\d.e-]+/m);

    m.countCellsIn('client', 10);
    const again = await (await fetch(`${server.url}/metrics`)).text();
    expect(series(again, 'chive_relay_cells_in_total{link_kind="client"}')).toBe(13);
  });

  it('serves a JSON snapshot on /status.json with uptime and what the daemon set', async () => {
    let clock = 1_000_000;
    const m = new RelayMetrics({ now: () => clock, defaultMetrics: false });
    m.countCellsIn('client', 2);
    m.countCellsIn('relay', 3);
    m.setLinks('relay', 4);
    m.handshake('noise_nk', 'ok');
    m.refused('max_circuits');
    m.setStatus({ nickname: 'Alpha', flags: ['Running', 'Fast'] });
    m.setStatus({ onionKeyRotatesAt: 42 });
    clock += 90_500;
    const server = await serve(m);
    const res = await fetch(`${server.url}/status.json`);
    expect(res.headers.get('content-type')).toBe('application/json');
    const status = await res.json();
    expect(status).toMatchObject({
      uptimeSeconds: 90.5,
      cellsIn: { client: 2, relay: 3, total: 5 },
      links: { client: 0, relay: 4, total: 4 },
      handshakes: { noise_nk: { ok: 1, fail: 0 } },
      refusals: { max_circuits: 1, create_rate: 0 },
      status: { nickname: 'Alpha', flags: ['Running', 'Fast'], onionKeyRotatesAt: 42 },
    });
    expect(status.process.rssBytes).toBeGreaterThan(0);
  });

  it('keeps two relays in one process apart (own registries, own default metrics)', async () => {
    const a = new RelayMetrics({ labels: { nickname: 'A' } });
    const b = new RelayMetrics({ labels: { nickname: 'B' } });
    a.countCellsOut('client', 5);
    b.countCellsOut('client', 9);
    const [sa, sb] = [await serve(a), await serve(b)];
    const ta = await (await fetch(`${sa.url}/metrics`)).text();
    const tb = await (await fetch(`${sb.url}/metrics`)).text();
    expect(series(ta, 'chive_relay_cells_out_total{link_kind="client",nickname="A"}')).toBe(5);
    expect(series(tb, 'chive_relay_cells_out_total{link_kind="client",nickname="B"}')).toBe(9);
    expect(tb).not.toContain('nickname="A"');
    expect(a.registry).not.toBe(b.registry);
  });

  it('copies counters kept elsewhere through the refresh hook, once per scrape', async () => {
    const plain = { cellsIn: 0, ntorOk: 0, refusals: { replay: 0, made_up: 0 } as Record<string, number> };
    let refreshes = 0;
    const m = new RelayMetrics({
      defaultMetrics: false,
      refresh: (metrics) => {
        refreshes += 1;
        metrics.setTotals({ cellsIn: { relay: plain.cellsIn }, handshakes: { ntor: { ok: plain.ntorOk } }, refusals: plain.refusals, circuitsDestroyed: { protocol: 2 } });
      },
    });
    const server = await serve(m);
    plain.cellsIn = 40;
    plain.ntorOk = 3;
    plain.refusals = { replay: 5, made_up: 2 };
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(refreshes).toBe(1);
    expect(series(text, 'chive_relay_cells_in_total{link_kind="relay"}')).toBe(40);
    expect(series(text, 'chive_relay_handshakes_total{kind="ntor",result="ok"}')).toBe(3);
    expect(series(text, 'chive_relay_refusals_total{reason="replay"}')).toBe(5);
    expect(series(text, 'chive_relay_refusals_total{reason="other"}')).toBe(2);
    expect(series(text, 'chive_relay_circuits_destroyed_total{reason="protocol"}')).toBe(2);
    expect(text).not.toContain('made_up');
    plain.cellsIn = 41;
    await new Promise((r) => setImmediate(r));
    expect(m.snapshot().cellsIn.relay).toBe(41);
    expect(refreshes).toBe(2);
  });

  it('counts an unknown reason from untyped code as other', () => {
    const m = new RelayMetrics({ defaultMetrics: false });
    m.refused('made_up' as RefusalReason);
    m.circuitDestroyed('nope' as 'other');
    expect(m.snapshot().refusals.other).toBe(1);
    expect(m.snapshot().circuitsDestroyed.other).toBe(1);
  });
});

describe('startMetricsServer', () => {
  it('refuses a non-loopback host unless explicitly allowed, and warns when allowed', async () => {
    const registry = new Registry();
    await expect(startMetricsServer({ registry, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('MetricsAddress'),
    });
    const warnings: string[] = [];
    const server = await startMetricsServer({ registry, host: '0.0.0.0', port: 0, allowNonLoopback: true, logger: { warn: (_o, msg) => warnings.push(msg) } });
    servers.push(server);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('0.0.0.0');
    expect((await rawGet(server.port, '/metrics', { host: 'metrics.example.org' })).status).toBe(200);
  });

  it('answers only GET/HEAD on /metrics and /status.json, and only to loopback Host names', async () => {
    const server = await serve(new RelayMetrics({ defaultMetrics: false }));
    expect((await rawGet(server.port, '/nope')).status).toBe(404);
    expect((await rawGet(server.port, '/metrics', {}, 'POST')).status).toBe(405);
    expect(await rawGet(server.port, '/metrics', {}, 'HEAD')).toEqual({ status: 200, body: '' });
    expect((await rawGet(server.port, '/status.json?x=1', { host: 'localhost:1' })).status).toBe(200);
    expect((await rawGet(server.port, '/status.json', { host: 'evil.example.com' })).status).toBe(403);
    const noStatus = await startMetricsServer({ registry: new Registry(), port: 0 });
    servers.push(noStatus);
    expect((await rawGet(noStatus.port, '/status.json')).status).toBe(404);
  });

  it('reports a port in use as METRICS_LISTEN_FAILED and stops serving after close', async () => {
    const first = await serve(new RelayMetrics({ defaultMetrics: false }));
    await expect(startMetricsServer({ registry: new Registry(), port: first.port })).rejects.toMatchObject({ code: 'METRICS_LISTEN_FAILED' });
    await first.close();
    await first.close();
    await expect(fetch(`${first.url}/metrics`)).rejects.toThrow();
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.org']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
