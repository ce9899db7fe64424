import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REDACTED, REDACTED_FIELDS, createLogger } from '../../relay/log.js';

const tmpFile = () => join(mkdtempSync(join(tmpdir(), 'chive-log-')), 'relay.log');
const readLines = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('createLogger', () => {
  it('appends JSON lines to a 0600 file with time, level, name and message, filtered by level', async () => {
    const path = tmpFile();
    const log = createLogger({ level: 'info', file: path, name: 'relay' });
    log.debug('not written at info');
    log.info({ circId: 7, cells: 3 }, 'circuit opened');
    log.warn('queue high');
    await log.close();
    const lines = readLines(path);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', name: 'relay', circId: 7, cells: 3, msg: 'circuit opened', pid: process.pid });
    expect(typeof lines[0]!.time).toBe('string');
    expect(Number.isNaN(Date.parse(lines[0]!.time as string))).toBe(false);
    expect(lines[1]).toMatchObject({ level: 'warn', msg: 'queue high' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('censors addresses, payloads and secrets at the top level, nested, and in child bindings', async () => {
    const path = tmpFile();
    const log = createLogger({ level: 'trace', file: path, name: 'relay' });
    const everyField = Object.fromEntries(REDACTED_FIELDS.map((f) => [f, `value-of-${f}`]));
    log.info(everyField, 'top level');
    log.info({ peer: { remoteAddress: '198.51.100.7', kind: 'client' }, stream: { conn: { ip: '198.51.100.8', port: 443 } } }, 'nested');
    log.child({ remoteAddress: '198.51.100.9', linkId: 4 }).warn({ payload: 'hello bob', circId: 1 }, 'child');
    log.error({ secretKey: new Uint8Array([1, 2, 3]), key: 'k', body: 'message text' }, 'secrets');
    await log.close();
    const text = readFileSync(path, 'utf8');
    for (const f of REDACTED_FIELDS) expect(text).not.toContain(`value-of-${f}`);
    for (const leaked of ['198.51.100.7', '198.51.100.8', '198.51.100.9', 'hello bob', 'message text']) expect(text).not.toContain(leaked);
    const [top, nested, child, secrets] = readLines(path);
    for (const f of REDACTED_FIELDS) expect(top![f], f).toBe(REDACTED);
    expect(nested).toMatchObject({ peer: { remoteAddress: REDACTED, kind: 'client' }, stream: { conn: { ip: REDACTED, port: 443 } } });
    expect(child).toMatchObject({ remoteAddress: REDACTED, linkId: 4, payload: REDACTED, circId: 1 });
    expect(secrets).toMatchObject({ secretKey: REDACTED, key: REDACTED, body: REDACTED });
  });

  it('flushes everything buffered on close, and drops (without throwing) what is logged after', async () => {
    const path = tmpFile();
    const log = createLogger({ level: 'info', file: path, name: 'relay' });
    const child = log.child({ part: 'links' });
    for (let i = 0; i < 5000; i++) log.info({ i }, 'burst');
    await log.close();
    const lines = readLines(path);
    expect(lines).toHaveLength(5000);
    expect(lines.at(-1)).toMatchObject({ i: 4999 });
    expect(() => {
      log.info('late');
      child.info('late child');
    }).not.toThrow();
    await log.close();
    expect(readLines(path)).toHaveLength(5000);
  });

  it('refuses a log file it cannot open with CONFIG_INVALID', () => {
    expect(() => createLogger({ level: 'info', file: join(tmpdir(), 'no-such-dir-chive', 'x', 'relay.log'), name: 'r' })).toThrowError(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('ENOENT') }),
    );
  });

  it('writes to stderr by default and has flushed every line to it when close() resolves', () => {
    const logModule = fileURLToPath(new URL('../../relay/log.ts', import.meta.url));
    const script = [
      `const { createLogger } = await import(${JSON.stringify(logModule)});`,
      `const log = createLogger({ level: 'info', name: 'stderr-test' });`,
      `for (let i = 0; i < 3000; i++) log.info({ i, address: '203.0.113.5' }, 'line');`,
      `await log.close();`,
      `(await import('node:fs')).writeSync(2, 'AFTER-CLOSE\\n');`,
      `process.exit(0);`,
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(0);
    const [beforeMark, afterMark] = run.stderr.split('AFTER-CLOSE\n');
    const lines = beforeMark!.split('\n').filter((l) => l.startsWith('{'));
    expect(lines).toHaveLength(3000);
    expect(afterMark).not.toContain('{');
    expect(JSON.parse(lines[2999]!)).toMatchObject({ name: 'stderr-test', i: 2999, address: REDACTED });
    expect(run.stderr).not.toContain('203.0.113.5');
  });
});
