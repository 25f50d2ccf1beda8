/**
 * The in-browser app's speed in headless chromium (`npm run bench -- web [--runs N]`): the 96 aligned
 * faces of assets/sample/deploy (as PNG; detection skipped) and the 8 raw photos of assets/sample/raw
 * (detected and aligned), each run `--runs` times after one warm-up, through the built page (dist/web)
 * served by `facemae web`'s server. Prints img/s end to end (decode, align, mask, reconstruct, draw)
 * and inside the MAE session alone, and onnxruntime-web's thread count.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { serveStatic } from '../src/serve/static-server.js';
import type { PageApi } from '../web/src/api.js';
import { launchChromium } from '../tests/support/chromium.js';
import { printCpu } from './common.js';

const root = path.resolve(import.meta.dirname, '..');

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
}

export async function benchWeb(args: string[]): Promise<void> {
  const runs = flag(args, '--runs', 3);
  printCpu();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-bench-web-'));
  const faces = path.join(work, 'faces');
  const deploy = path.join(root, 'assets/sample/deploy');
  for (const id of fs.readdirSync(deploy)) {
    fs.mkdirSync(path.join(faces, id), { recursive: true });
    for (const f of fs.readdirSync(path.join(deploy, id)))
      await sharp(path.join(deploy, id, f))
        .png()
        .toFile(path.join(faces, id, f.replace(/\.jpg$/, '.png')));
  }
  const rawDir = path.join(root, 'assets/sample/raw');
  const raw = fs
    .readdirSync(rawDir)
    .flatMap((id) => fs.readdirSync(path.join(rawDir, id)).map((f) => path.join(rawDir, id, f)));
  const server = await serveStatic();
  const ctx = await launchChromium();
  try {
    const page = await ctx.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 120_000 });
    console.log(await page.locator('#status').innerText());
    const measure = async (mode: string, input: string, files: string | string[]) => {
      await page.selectOption('#detect', mode);
      await page.setInputFiles(input, files);
      const rows: Array<{ n: number; seconds: number; modelSeconds: number }> = [];
      for (let r = 0; r <= runs; r++) {
        await page.click('#run');
        await page.waitForFunction(
          () => ['done', 'error'].includes(document.body.dataset.state ?? ''),
          null,
          {
            timeout: 600_000,
          },
        );
        const s = await page.evaluate(() => {
          const l = (window as unknown as { facemae: PageApi }).facemae.state.last!;
          return { n: l.results.length, seconds: l.seconds, modelSeconds: l.modelSeconds };
        });
        if (r > 0) rows.push(s); // the first run warms up
      }
      const n = rows.reduce((a, b) => a + b.n, 0);
      const t = rows.reduce((a, b) => a + b.seconds, 0);
      const tm = rows.reduce((a, b) => a + b.modelSeconds, 0);
      const best = Math.max(...rows.map((x) => x.n / x.seconds));
      console.log(
        `${mode.padEnd(8)} ${String(rows[0]!.n).padStart(3)} images × ${runs}: ${(n / t).toFixed(1)} img/s end to end (best run ${best.toFixed(1)}), ${(n / tm).toFixed(1)} img/s in the MAE`,
      );
    };
    await measure('aligned', '#folder', faces);
    await measure('always', '#files', raw);
  } finally {
    await ctx.close();
    await server.close();
  }
}
