/**
 * `chive chat`: chat over chive, in the terminal UI (ink) or headless (JSON lines).
 *
 *   chive chat --profile DIR --network FILE [--name N] [--headless] [--log-file F]
 *
 * The profile directory is created on first use (identity keys 0600). Logs never go to
 * stdout: JSON lines on stderr in headless mode, or to --log-file (the UI owns the screen).
 * Exit codes: 0 after quit / Ctrl-C / end of stdin, 1 on an error (printed with its stable
 * code), 2 on bad usage.
 *
 * Not the chat logic (chat-client.ts), the JSON protocol (headless.ts) or the UI (client/ui/).
 */
import { appendFileSync } from 'node:fs';
import { Command } from 'commander';
import { type ProviderPreference, loadCryptoProvider } from '../../src/crypto/load.js';
import { isChiveError } from '../../src/errors.js';
import { LOG_LEVELS, jsonLineLogger, lineWriters, oneOf, parseCommandFlags, type CliLogLevel } from '../../src/io/cli-flags.js';
import { loadNetworkFile } from '../../src/io/network-file.js';
import { ChatClient } from './chat-client.js';
import { runHeadless } from './headless.js';

interface Flags {
  profile: string;
  network: string;
  name?: string;
  headless?: boolean;
  logFile?: string;
  logLevel: CliLogLevel;
  crypto: ProviderPreference;
  excludeRelays?: string;
}

export interface ChatCommandIo {
  readonly stdout?: (line: string) => void;
  readonly stderr?: (line: string) => void;
}

export async function runChatCommand(argv: readonly string[], io: ChatCommandIo = {}): Promise<number> {
  const { out, err } = lineWriters(io);
  const program = new Command('chat')
    .description('chat anonymously: contacts reach you by your chive1… address; nobody learns where you are')
    .requiredOption('--profile <dir>', 'profile directory (identity, contacts, history); created on first use')
    .requiredOption('--network <file>', 'network file (network.json, as written by chive testnet)')
    .option('--name <name>', 'the name your contacts see (sent end-to-end)')
    .option('--headless', 'JSON lines on stdin / stdout instead of the terminal UI (docs/CLI.md)')
    .option('--log-file <file>', 'append logs here (default: stderr in headless mode, nowhere in the UI)')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, oneOf(LOG_LEVELS), 'info')
    .option('--crypto <provider>', 'crypto provider: auto, sodium or noble', oneOf<ProviderPreference>(['auto', 'sodium', 'noble']), 'auto')
    .option('--exclude-relays <hex,…>', 'relay identities (hex) never used as guard or middle hop')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });
  const parsed = parseCommandFlags<Flags>(program, argv);
  if ('exitCode' in parsed) return parsed.exitCode;
  const flags = parsed.flags;
  const logSink = flags.logFile
    ? (line: string) => appendFileSync(flags.logFile!, line + '\n', { mode: 0o600 })
    : flags.headless ? err : () => undefined;
  const log = jsonLineLogger(flags.logLevel, logSink);
  let chat: ChatClient | null = null;
  try {
    const provider = loadCryptoProvider(flags.crypto, (line) => log('warn', line));
    const network = loadNetworkFile(flags.network);
    const excludeRelays = (flags.excludeRelays ?? '').split(',').filter(Boolean).map((h) => new Uint8Array(Buffer.from(h, 'hex')));
    chat = new ChatClient({ profileDir: flags.profile, network, name: flags.name, provider, log, excludeRelays });
    // A safety net: a stray rejection is a bug to report, not a reason to drop the user's session.
    process.on('unhandledRejection', (e) => log('error', 'internal error (please report)', { code: isChiveError(e) ? e.code : 'INTERNAL', error: e instanceof Error ? e.message : String(e) }));
    const stop = () => process.stdin.destroy();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (flags.headless) {
      const started = chat.start();
      started.catch((e) => out(JSON.stringify({ event: 'error', code: isChiveError(e) ? e.code : 'INTERNAL', message: String((e as Error).message ?? e) })));
      await runHeadless(chat, process.stdin, out);
    } else {
      const { runChatUi } = await import('../ui/run-chat-ui.js');
      await runChatUi(chat, {});
    }
    await chat.close();
    return 0;
  } catch (e) {
    err(`chive chat: ${e instanceof Error ? e.message : String(e)}${isChiveError(e) ? ` (${e.code})` : ''}`);
    await chat?.close().catch(() => {});
    return 1;
  }
}
