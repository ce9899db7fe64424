/**
 * The blessed terminal for `chive monitor`: one full-screen box whose content is the
 * session's rendered lines (styles become blessed tags, text is escaped), redrawn every
 * interval and on resize; keys go to the session. Resolves when the user quits, after
 * giving the terminal back.
 *
 * The only module that touches blessed; everything it shows comes from session.ts.
 */
import blessed from 'blessed';
import type { Line, Style } from './format.js';
import type { MonitorSession } from './session.js';

const TAGS: Record<Style, [string, string]> = {
  bold: ['{bold}', '{/bold}'],
  dim: ['{gray-fg}', '{/gray-fg}'],
  red: ['{red-fg}', '{/red-fg}'],
  yellow: ['{yellow-fg}', '{/yellow-fg}'],
  green: ['{green-fg}', '{/green-fg}'],
  cyan: ['{cyan-fg}', '{/cyan-fg}'],
  inverse: ['{inverse}', '{/inverse}'],
};

/** A styled line as blessed tag markup (braces in the text escaped). */
export function toTags(l: Line): string {
  return l
    .map((s) => {
      const text = s.text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
      return s.style === undefined ? text : `${TAGS[s.style][0]}${text}${TAGS[s.style][1]}`;
    })
    .join('');
}

export async function runMonitorScreen(session: MonitorSession, intervalMs: number): Promise<void> {
  const screen = blessed.screen({ smartCSR: true, fullUnicode: true, title: 'chive monitor', autoPadding: false });
  const box = blessed.box({ top: 0, left: 0, width: '100%', height: '100%', tags: true, wrap: false });
  screen.append(box);
  const draw = (): void => {
    const width = Math.max(20, Number(screen.width));
    const height = Math.max(5, Number(screen.height));
    box.setContent(session.render(width, height).map(toTags).join('\n'));
    screen.render();
  };
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      await session.refresh();
      draw();
    } finally {
      busy = false;
    }
  };
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => void tick(), intervalMs);
    const quit = (): void => {
      clearInterval(timer);
      screen.destroy();
      resolve();
    };
    screen.on('keypress', (_ch: string, key: { full?: string } | undefined) => {
      const action = key?.full === undefined ? null : session.key(key.full);
      if (action === 'quit') quit();
      else if (action === 'redraw') draw();
    });
    screen.on('resize', draw);
    draw();
    void tick();
  });
}
