/**
 * `chive monitor`: a dashboard of one relay, read from its local metrics endpoint
 * (MetricsPort: /status.json, on 127.0.0.1 unless the operator said otherwise).
 *
 *   chive monitor [--port 9035 | --url http://127.0.0.1:9035 | --config relay.conf]
 *                 [--interval 1s] [--log-file PATH] [--allow-remote] [--once [--width 80 --height 24]]
 *
 * Keys: 1-4 pages, ←/→ or Tab to switch, q to quit. `--once` prints the overview as text
 * (two samples an interval apart, so that rates show) and exits, for scripts and for
 * terminals without blessed. Exit codes: 0 after q or a printed --once, 1 when --once
 * could not read the relay, 2 on bad usage. Not the relay's metrics (relay/metrics.ts).
 */
import { isChiveError } from '../../src/errors.js';
import { configValue, loadConfigFile, parseDuration } from '../config.js';
import { isLoopbackHost } from '../metrics.js';
import { plain } from './format.js';
import { MonitorSession } from './session.js';

const USAGE = `usage: chive monitor [--port PORT | --url URL | --config FILE] [--interval 1s] [--log-file PATH]
                     [--allow-remote] [--once [--width 80] [--height 24]]

Shows a relay's bandwidth (with its cap), circuits, cells per second, links, CPU and
memory, consensus flags explained, overload indicators, key expiry, accounting and its log,
refreshing every --interval. Reads http://127.0.0.1:PORT/status.json (MetricsPort; default
port 9035); --config takes MetricsPort, MetricsAddress and LogFile from the relay's file.
Keys: 1 overview  2 flags  3 keys & limits  4 log  ←/→ or Tab switch  q quit.
--once prints the overview as text and exits.
`;

interface MonitorArgs {
  baseUrl: string;
  intervalMs: number;
  logFile?: string;
  once: boolean;
  width: number;
  height: number;
}

function usageError(message: string): never {
  throw Object.assign(new Error(message), { usage: true });
}

async function parseArgs(argv: string[]): Promise<MonitorArgs | 'help'> {
  let port: number | undefined;
  let url: string | undefined;
  let configFile: string | undefined;
  let allowRemote = false;
  const args: MonitorArgs = { baseUrl: '', intervalMs: 1000, once: false, width: 80, height: 24 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => inline ?? argv[++i] ?? usageError(`${flag} needs a value`);
    const whole = (min: number, max: number): number => {
      const v = value();
      if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) usageError(`${flag}: "${v}" is not a whole number in ${min}..${max}`);
      return Number(v);
    };
    if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--port') port = whole(1, 65535);
    else if (flag === '--url') url = value().replace(/\/+$/, '');
    else if (flag === '--config' || flag === '-f') configFile = value();
    else if (flag === '--log-file') args.logFile = value();
    else if (flag === '--allow-remote') allowRemote = true;
    else if (flag === '--once') args.once = true;
    else if (flag === '--width') args.width = whole(40, 1000);
    else if (flag === '--height') args.height = whole(10, 1000);
    else if (flag === '--interval') {
      const v = value();
      args.intervalMs = /^[0-9.]+$/.test(v) ? Number(v) * 1000 : parseDuration(v);
      if (!(args.intervalMs >= 100 && args.intervalMs <= 60_000)) usageError('--interval must be between 100 ms and 60 s');
    } else usageError(`unknown option ${a}`);
  }
  if ([port, url, configFile].filter((x) => x !== undefined).length > 1) usageError('give one of --port, --url and --config');
  if (configFile !== undefined) {
    const source = await loadConfigFile(configFile);
    const metricsPort = configValue(source, 'metricsPort') ?? 0;
    if (metricsPort === 0) usageError(`${configFile} sets no MetricsPort: the relay serves no status to monitor`);
    const host = configValue(source, 'metricsAddress') ?? '127.0.0.1';
    url = `http://${host.includes(':') ? `[${host}]` : host}:${metricsPort}`;
    args.logFile ??= configValue(source, 'logFile');
  }
  args.baseUrl = url ?? `http://127.0.0.1:${port ?? 9035}`;
  let parsed: URL;
  try {
    parsed = new URL(args.baseUrl);
  } catch {
    return usageError(`--url: "${args.baseUrl}" is not a URL`);
  }
  if (parsed.protocol !== 'http:') usageError('--url must be an http:// URL (the metrics endpoint)');
  if (!isLoopbackHost(parsed.hostname) && !allowRemote) {
    usageError(`${parsed.hostname} is not this machine: the status endpoint is plain HTTP; pass --allow-remote if you mean it (better: an SSH tunnel)`);
  }
  return args;
}

export async function runMonitorCommand(argv: string[]): Promise<number> {
  let args: MonitorArgs | 'help';
  try {
    args = await parseArgs(argv);
  } catch (e) {
    process.stderr.write(`chive monitor: ${isChiveError(e) ? `${e.code}: ${e.message}` : (e as Error).message}\n`);
    return (e as { usage?: boolean }).usage || isChiveError(e, 'CONFIG_INVALID') ? 2 : 1;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const session = new MonitorSession({ baseUrl: args.baseUrl, logFile: args.logFile });
  if (args.once) {
    await session.refresh();
    await new Promise((r) => setTimeout(r, args.intervalMs));
    await session.refresh();
    if (session.model.latest === null) {
      process.stderr.write(`chive monitor: MONITOR_UNREACHABLE: ${args.baseUrl}/status.json: ${session.model.error}\n`);
      return 1;
    }
    process.stdout.write(session.render(args.width, args.height).map((l) => plain(l).trimEnd()).join('\n') + '\n');
    return 0;
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    process.stderr.write('chive monitor: needs a terminal (or use --once for a text snapshot)\n');
    return 2;
  }
  const { runMonitorScreen } = await import('./screen.js');
  await runMonitorScreen(session, args.intervalMs);
  return 0;
}
