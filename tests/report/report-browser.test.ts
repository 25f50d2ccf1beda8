/**
 * The sweep report in a real browser (headless Debian chromium through playwright-core): it loads
 * with no console errors and shows the table, the plot and the grid. The report is a tiny sweep with
 * fake training steps, or the one in $FACEMAE_REPORT_DIR (e.g. runs/demo/report), whose screenshot
 * is then saved to docs/img/report.png for the README. Skipped, with a message, where
 * /usr/bin/chromium is absent.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep } from '../../src/sweep/sweep.js';
import { fakeDeps, smallDeploy, tinySweepConfig } from '../sweep/fakes.js';
import { CHROMIUM, collectErrors, hasChromium, launchChromium } from '../support/chromium.js';

const root = path.resolve(import.meta.dirname, '../..');
const REAL = process.env.FACEMAE_REPORT_DIR ? path.resolve(process.env.FACEMAE_REPORT_DIR) : undefined;
if (!hasChromium)
  console.warn(`report browser test skipped: ${CHROMIUM} not found (CI installs the chromium package)`);

describe.skipIf(!hasChromium)('report in headless chromium', () => {
  let server: http.Server;
  let url = '';
  let reportDir = '';
  let work = '';
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-report-'));
    if (REAL) {
      reportDir = REAL;
    } else {
      const deploy = smallDeploy(root, path.join(work, 'deploy'));
      const r = await runSweep(tinySweepConfig(root, deploy), {
        out: path.join(work, 'run'),
        deps: fakeDeps([]),
      });
      reportDir = path.dirname(r.report);
    }
    server = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '') || 'index.html';
      const file = path.join(reportDir, rel);
      if (!file.startsWith(reportDir) || !fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const type = file.endsWith('.html')
        ? 'text/html'
        : file.endsWith('.png')
          ? 'image/png'
          : 'application/octet-stream';
      res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/index.html`;
  });
  afterAll(async () => {
    await new Promise((ok) => server?.close(ok));
  });

  it('loads without console errors and shows the table, the plot and the grid', async () => {
    const ctx = await launchChromium();
    try {
      const page = await ctx.newPage();
      const errors = collectErrors(page);
      await page.goto(url, { waitUntil: 'load' });
      expect(await page.title()).toMatch(/FaceMAE privacy–utility sweep/);
      const rows = await page.locator('#results tbody tr[data-row]').count();
      expect(await page.locator('#results').innerText()).toContain('FaceMAE, mask ratio 0.75');
      const img = page.locator('figure.grid img').first();
      expect(await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBe(true);
      if (!REAL) {
        expect(rows).toBe(7);
        expect(await page.locator('#pu-plot circle.pt').count()).toBe(7);
        expect(await img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(9 * 112 + 10 * 4);
      } else {
        expect(rows).toBeGreaterThan(1);
        expect(await page.locator('svg[id="pu-plot"]').count()).toBeGreaterThan(0);
      }
      expect(errors).toEqual([]);
      const shot = await page.screenshot({ fullPage: true });
      const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      let s = 0;
      let s2 = 0;
      for (const v of data) {
        s += v;
        s2 += v * v;
      }
      const mean = s / data.length;
      expect(info.height).toBeGreaterThan(900);
      expect(s2 / data.length - mean * mean).toBeGreaterThan(100);
      const dest = REAL ? path.join(root, 'docs/img/report.png') : path.join(work, 'report.png');
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      // The README shows the top of the page: table, plot and grid (the step log and config are long).
      const top = Math.min(info.height, 2300);
      await sharp(shot)
        .extract({ left: 0, top: 0, width: info.width, height: top })
        .resize({ width: 1000 })
        .png({ compressionLevel: 9, palette: true })
        .toFile(dest);
    } finally {
      await ctx.close();
    }
  });
});
