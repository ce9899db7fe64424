/**
 * The newcomer's demo behind `npm start` (`chive demo`): a whole local network in this
 * process (authorities and relays on loopback, testnet/test-network.ts), its network file
 * written where a second terminal can use it, an echo bot with its own profile, and your
 * own profile with the bot as a contact — so the first message travels to the bot through
 * a real rendezvous (six relay hops) within seconds. close() stops everything it started.
 *
 * Not the UI (client/ui/) and not a network anyone else should join: testnet only.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ChatClient } from '../client/chat/chat-client.js';
import { runEchoBot } from '../client/chat/echo-bot.js';
import type { ChatLog } from '../client/chat/chat-context.js';
import { writeNetworkFile } from '../src/io/network-file.js';
import { createTestNetwork, type TestNetwork } from './test-network.js';

export interface DemoOptions {
  /** Where the network file, node data and profiles live (default ./.chive-demo). */
  readonly dir?: string;
  readonly relays?: number;
  readonly onProgress?: (line: string) => void;
  readonly log?: ChatLog;
}

export interface Demo {
  readonly networkFile: string;
  /** Your chat client (not started: the UI starts it and shows the bootstrap). */
  readonly you: ChatClient;
  readonly bot: ChatClient;
  readonly botAddress: string;
  /** ms from startDemo() until the network and the bot were ready. */
  readonly networkReadyMs: number;
  close(): Promise<void>;
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const t0 = performance.now();
  const dir = resolve(options.dir ?? '.chive-demo');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const progress = options.onProgress ?? (() => undefined);
  progress('starting a local network (3 authorities, 6 relays)…');
  // Node data is fresh every run (new keys, new ports); profiles are kept between runs.
  const runDir = join(dir, `net-${Date.now().toString(36)}`);
  let net: TestNetwork | null = await createTestNetwork({ relays: options.relays ?? 6, dir: runDir, votingIntervalMs: 2_000 });
  const closers: (() => Promise<void>)[] = [async () => net?.close()];
  try {
    await net.ready(60_000);
    const networkFile = join(dir, 'network.json');
    writeNetworkFile(networkFile, net.network);
    progress('starting the echo bot…');
    const bot = new ChatClient({ profileDir: join(dir, 'profiles', 'echo-bot'), network: net.network, name: 'echo-bot', log: options.log });
    closers.unshift(() => bot.close());
    await bot.start();
    const stopBot = runEchoBot(bot);
    closers.unshift(async () => stopBot());
    const you = new ChatClient({ profileDir: join(dir, 'profiles', 'you'), network: net.network, name: 'you', log: options.log });
    closers.unshift(() => you.close());
    const known = you.contacts().find((c) => c.address === bot.address);
    if (!known) you.addContact(bot.address, 'echo-bot');
    if (!bot.contacts().some((c) => c.address === you.address)) bot.addContact(you.address, 'you');
    return {
      networkFile,
      you,
      bot,
      botAddress: bot.address,
      networkReadyMs: performance.now() - t0,
      close: async () => {
        for (const c of closers.splice(0)) await c().catch(() => undefined);
        net = null;
      },
    };
  } catch (e) {
    for (const c of closers.splice(0)) await c().catch(() => undefined);
    throw e;
  }
}
