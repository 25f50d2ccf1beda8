/**
 * `facemae web`'s static server on a small folder: files with their types and the isolation headers,
 * 404 for a missing file, nothing outside the folder, a clear error for a folder with no build; and
 * the verb itself prints the URL of a server that answers.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { serveStatic } from '../../src/serve/static-server.js';

const root = path.resolve(import.meta.dirname, '../..');

/** GET without URL normalisation (fetch would resolve `..` before sending it). */
function get(
  url: string,
  rawPath: string,
): Promise<{ status: number; type?: string; coep?: string; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    http
      .get({ host: u.hostname, port: u.port, path: rawPath }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          ok({
            status: res.statusCode ?? 0,
            type: res.headers['content-type'],
            coep: res.headers['cross-origin-embedder-policy'] as string | undefined,
            body,
          }),
        );
      })
      .on('error', fail);
  });
}

describe('facemae web server', () => {
  it('serves the folder, and nothing outside it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-serve-'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<p>hi</p>');
    fs.mkdirSync(path.join(dir, 'assets'));
    fs.writeFileSync(path.join(dir, 'assets', 'x.wasm'), 'wasm');
    fs.writeFileSync(path.join(path.dirname(dir), 'facemae-secret.txt'), 'secret');
    const s = await serveStatic({ dir });
    try {
      const index = await get(s.url, '/');
      expect(index).toMatchObject({ status: 200, body: '<p>hi</p>', coep: 'require-corp' });
      expect(index.type).toMatch(/text\/html/);
      expect(await get(s.url, '/assets/x.wasm')).toMatchObject({ status: 200, type: 'application/wasm' });
      expect((await get(s.url, '/nope.js')).status).toBe(404);
      const out = await get(s.url, '/../facemae-secret.txt');
      expect(out.body).not.toContain('secret');
      expect((await get(s.url, '/%2e%2e/facemae-secret.txt')).body).not.toContain('secret');
    } finally {
      await s.close();
    }
  });

  it('refuses a folder with no built app, naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-serve-empty-'));
    await expect(serveStatic({ dir })).rejects.toThrow(
      new RegExp(`no built web app in ${dir}.*npm run build`),
    );
  });

  it('`facemae web --json` prints the URL of a server that answers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-serve-cli-'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<p>app</p>');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'src/cli/index.ts'), 'web', '--port', '0', '--dir', dir, '--json'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((ok, fail) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /"url":\s*"([^"]+)"/.exec(out);
          if (m) ok(m[1]!);
        });
        child.on('exit', (code) => fail(new Error(`facemae web exited ${code}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await get(url, '/')).body).toBe('<p>app</p>');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
