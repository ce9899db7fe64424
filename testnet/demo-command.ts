/**
 * `chive demo` (what `npm start` runs): a local network in this process, an echo bot, and
 * the chat UI with the bot as your first contact. Ctrl-C (or /quit) stops everything.
 *
 *   chive demo [--dir DIR]      (default DIR: ./.chive-demo; profiles are kept there)
 *
 * A second terminal can chat with you:  npx chive chat --profile bob --network DIR/network.json
 * Exit codes: 0 after quit, 1 on an error (printed with its stable code), 2 on bad usage.
 * Not the network (test-network.ts), the bot (client/chat/echo-bot.ts) or the UI (client/ui/).
 */
import { appendFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { isChiveError } from '../src/errors.js';
import { jsonLineLogger, lineWriters, parseCommandFlags } from '../src/io/cli-flags.js';
import { startDemo, type Demo } from './demo.js';

interface Flags {
  dir: string;
}

export async function runDemoCommand(argv: readonly string[], io: { stdout?: (l: string) => void; stderr?: (l: string) => void } = {}): Promise<number> {
  const { out, err } = lineWriters(io);
  const program = new Command('demo')
    .description('try chive in one command: a local network, an echo bot, and the chat UI')
    .option('--dir <dir>', 'where the network file, node data and profiles live', '.chive-demo')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });
  const parsed = parseCommandFlags<Flags>(program, argv);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { dir } = parsed.flags;
  const logFile = join(dir, 'demo.log');
  let demo: Demo | null = null;
  try {
    const t0 = performance.now();
    demo = await startDemo({
      dir,
      onProgress: (line) => out(`chive demo: ${line}`),
      log: jsonLineLogger('info', (line) => appendFileSync(logFile, line + '\n', { mode: 0o600 })),
    });
    const networkFile = relative(process.cwd(), demo.networkFile) || demo.networkFile;
    // Fits an 80-column notice line with the default directory, so the command can be copied.
    const hint = `2nd terminal: npx chive chat --profile bob --network ${networkFile}`;
    out(`chive demo: network ready in ${Math.round(performance.now() - t0)} ms; network file ${networkFile}`);
    const { runChatUi } = await import('../client/ui/run-chat-ui.js');
    await runChatUi(demo.you, { welcome: hint });
    out('chive demo: stopping…');
    await demo.close();
    out(`chive demo: stopped. Your profile is kept in ${join(dir, 'profiles', 'you')}; logs in ${logFile}.`);
    return 0;
  } catch (e) {
    err(`chive demo: ${e instanceof Error ? e.message : String(e)}${isChiveError(e) ? ` (${e.code})` : ''}`);
    await demo?.close().catch(() => undefined);
    return 1;
  }
}
