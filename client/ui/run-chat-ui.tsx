/**
 * Runs the chat UI full-screen on a terminal: the alternate screen (so the shell's
 * scrollback is left as it was), ink with Ctrl-C handled by the app rather than killing
 * the process, and a promise that resolves when the user quits (Ctrl-C or /quit), after
 * the screen is restored.
 *
 * It does not start or close the ChatApi beyond what App does (App calls start() unless
 * told not to); closing the client after quit is the caller's job.
 */
import { render } from 'ink';
import type { ChatApi } from '../chat/api.js';
import { App } from './App.js';

export interface ChatUiOptions {
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
  /** Call chat.start() once the UI is up (default true), so the bootstrap shows on screen. */
  readonly start?: boolean;
  /** Use the terminal's alternate screen (default: when stdout is a TTY). */
  readonly alternateScreen?: boolean;
  /** For timestamps: minutes east of UTC (default: this machine's). */
  readonly utcOffsetMinutes?: number;
  /** Status bar refresh period, ms (default 5000). */
  readonly refreshMs?: number;
  /** An info notice shown at start. */
  readonly welcome?: string;
}

const ENTER_ALTERNATE_SCREEN = '\u001b[?1049h\u001b[H';
const LEAVE_ALTERNATE_SCREEN = '\u001b[?1049l';

export async function runChatUi(chat: ChatApi, options: ChatUiOptions = {}): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const alternate = options.alternateScreen ?? Boolean(stdout.isTTY);
  if (alternate) stdout.write(ENTER_ALTERNATE_SCREEN);
  let quitting = false;
  const instance = render(
    <App
      chat={chat}
      start={options.start ?? true}
      utcOffsetMinutes={options.utcOffsetMinutes}
      refreshMs={options.refreshMs}
      welcome={options.welcome}
      onExit={() => {
        if (quitting) return;
        quitting = true;
        // Leave the key handler that asked for it before tearing the tree down.
        setImmediate(() => instance.unmount());
      }}
    />,
    {
      stdout,
      stdin: options.stdin ?? process.stdin,
      stderr: options.stderr ?? process.stderr,
      exitOnCtrlC: false,
    },
  );
  try {
    await instance.waitUntilExit();
  } finally {
    if (alternate) stdout.write(LEAVE_ALTERNATE_SCREEN);
  }
}
