/**
 * Opens a report in headless Chromium (Debian's `chromium`; $CHROMIUM overrides the path):
 * screenshots it, collects every console message the page produced, and lists the charts in
 * the rendered DOM with the size of their SVG. The report has no script, so any console
 * message — an error, a failed load — is a defect.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Chromium binary, or null when none is installed. */
export function chromiumPath(): string | null {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.filter((p): p is string => !!p).find((p) => existsSync(p)) ?? null;
}

export interface BrowserCheck {
  /** Console messages (text after `CONSOLE`). */
  console: string[];
  /** data-chart id → rendered SVG width × height (0 when the figure has no SVG). */
  charts: { id: string; width: number; height: number }[];
  screenshot: string;
}

const FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--allow-file-access-from-files'];

/** Screenshot `html` to `png` and inspect it. */
export async function checkInChromium(html: string, png: string, width = 1200, height = 4000): Promise<BrowserCheck> {
  const bin = chromiumPath();
  if (!bin) throw new Error('no Chromium found (apt-get install chromium, or set CHROMIUM)');
  const url = pathToFileURL(resolve(html)).href;
  const logging = ['--enable-logging=stderr', '--v=0'];
  const args = [...FLAGS, ...logging, `--screenshot=${resolve(png)}`, `--window-size=${width},${height}`, url];
  const shot = await run(bin, args, { maxBuffer: 64 << 20, timeout: 120_000 });
  const consoleLines = shot.stderr
    .split('\n')
    .filter((l) => /:CONSOLE[:(]/.test(l))
    .map((l) => l.replace(/^.*?CONSOLE[^\]]*\]\s*/, ''));
  const dom = await run(bin, [...FLAGS, '--dump-dom', url], { maxBuffer: 64 << 20, timeout: 120_000 });
  const charts: BrowserCheck['charts'] = [];
  const figure = /<figure data-chart="([^"]+)">([\s\S]*?)<\/figure>/g;
  for (let m = figure.exec(dom.stdout); m; m = figure.exec(dom.stdout)) {
    const svg = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(m[2]!);
    charts.push({ id: m[1]!, width: svg ? Number(svg[1]) : 0, height: svg ? Number(svg[2]) : 0 });
  }
  return { console: consoleLines, charts, screenshot: resolve(png) };
}
