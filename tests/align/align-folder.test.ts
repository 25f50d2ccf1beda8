/** The align job: layout, report of photos without a face, resume, config, errors; and the CLI verb. */
import { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alignFolder, DEFAULT_ALIGN_CONFIG, type AlignConfig } from '../../src/align/index.js';
import { registerAlign } from '../../src/cli/commands/align.js';

const root = path.resolve(import.meta.dirname, '../..');
const RAW = path.join(root, 'assets/sample/raw');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'align-folder-'));
const data = path.join(tmp, 'photos');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  // 3 real photos (one a PNG, one two levels deep), a blank image and a corrupt file
  const ids = fs.readdirSync(RAW).sort().slice(0, 3);
  const src = ids.map((id) => path.join(RAW, id, fs.readdirSync(path.join(RAW, id))[0] as string));
  fs.mkdirSync(path.join(data, 'a'), { recursive: true });
  fs.mkdirSync(path.join(data, 'b', 'deeper'), { recursive: true });
  fs.copyFileSync(src[0] as string, path.join(data, 'a', 'one.jpg'));
  await sharp(src[1] as string)
    .png()
    .toFile(path.join(data, 'a', 'two.png'));
  fs.copyFileSync(src[2] as string, path.join(data, 'b', 'deeper', 'three.jpg'));
  await sharp({ create: { width: 200, height: 150, channels: 3, background: '#7f7f7f' } })
    .jpeg()
    .toFile(path.join(data, 'b', 'blank.jpg'));
  fs.writeFileSync(path.join(data, 'b', 'broken.jpg'), Buffer.from('not a jpeg at all'));
});

const cfg = (out: string, over: Partial<AlignConfig> = {}): AlignConfig => ({
  ...DEFAULT_ALIGN_CONFIG,
  data,
  out,
  ...over,
});

describe('alignFolder', () => {
  const out = path.join(tmp, 'out');

  it('writes 112×112 faces in the same layout and lists the photos it could not align', async () => {
    const { report, noFace } = await alignFolder(cfg(out));
    expect(report).toMatchObject({ total: 5, aligned: 3, kept: 0, noFace: 1, unreadable: 1, padded: 0 });
    // the first sample photo (Antonio Banderas) has a second person beside him
    expect(report.multiFace).toBe(1);
    expect(report.detectionRate).toBeCloseTo(3 / 5, 10);
    for (const rel of ['a/one.jpg', 'a/two.png', 'b/deeper/three.jpg']) {
      const m = await sharp(path.join(out, rel)).metadata();
      expect([m.width, m.height, m.format], rel).toEqual([112, 112, rel.endsWith('.png') ? 'png' : 'jpeg']);
    }
    expect(noFace.map((e) => [e.path, e.reason])).toEqual([
      [path.join('b', 'blank.jpg'), 'no-face'],
      [path.join('b', 'broken.jpg'), 'unreadable'],
    ]);
    expect(noFace[1]?.detail).toMatch(/cannot decode image .*broken\.jpg/);
    const lines = fs
      .readFileSync(path.join(out, 'no-face.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual(JSON.parse(JSON.stringify(noFace)));
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(saved).toMatchObject({
      command: 'align',
      config: { detector: 'faceplugin', pick: 'largest', data },
    });
    expect(fs.existsSync(path.join(out, 'b', 'blank.jpg'))).toBe(false);
    expect(fs.readdirSync(path.join(out, 'a')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses a non-empty output unless resumed, and resume redoes only missing or incomplete crops', async () => {
    await expect(alignFolder(cfg(out))).rejects.toThrow(/is not empty: pass --resume/);
    const before = fs.statSync(path.join(out, 'a', 'one.jpg')).mtimeMs;
    fs.rmSync(path.join(out, 'a', 'two.png'));
    fs.writeFileSync(path.join(out, 'b', 'deeper', 'three.jpg'), Buffer.from([0xff, 0xd8, 0xff])); // truncated
    const { report } = await alignFolder(cfg(out), { resume: true });
    expect(report).toMatchObject({ total: 5, aligned: 2, kept: 1, noFace: 1, unreadable: 1 });
    expect(fs.statSync(path.join(out, 'a', 'one.jpg')).mtimeMs).toBe(before);
    expect((await sharp(path.join(out, 'b', 'deeper', 'three.jpg')).metadata()).width).toBe(112);
  });

  it('rejects bad settings with messages naming the value', async () => {
    await expect(alignFolder(cfg(path.join(data, 'x')))).rejects.toThrow(/is inside data/);
    await expect(alignFolder(cfg(path.join(tmp, 'o2'), { pick: 'middle' as never }))).rejects.toThrow(
      /pick must be largest or central, got "middle"/,
    );
    await expect(alignFolder(cfg(path.join(tmp, 'o3'), { detector: 'yolo' }))).rejects.toThrow(
      /unknown detector "yolo"/,
    );
    await expect(alignFolder(cfg(path.join(tmp, 'o4'), { detector: 'scrfd:/no/such.onnx' }))).rejects.toThrow(
      /SCRFD detector model not found: \/no\/such\.onnx/,
    );
    await expect(alignFolder(cfg(path.join(tmp, 'o5'), { data: path.join(tmp, 'missing') }))).rejects.toThrow(
      /data .*missing is not a folder/,
    );
    fs.mkdirSync(path.join(tmp, 'empty'));
    await expect(alignFolder(cfg(path.join(tmp, 'o6'), { data: path.join(tmp, 'empty') }))).rejects.toThrow(
      /no images .* found under .*empty/,
    );
  });
});

describe('facemae align (CLI verb, in process)', () => {
  /** A program with the same global options as src/cli/index.ts and only the align verb. */
  async function run(args: string[]): Promise<{ stdout: string; error?: Error }> {
    const program = new Command('facemae')
      .option('-q, --quiet')
      .option('--json')
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerAlign(program);
    program.commands.forEach((c) => c.exitOverride());
    let stdout = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      stdout += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'facemae', ...args]);
      return { stdout };
    } catch (e) {
      return { stdout, error: e as Error };
    } finally {
      process.stdout.write = write;
    }
  }

  it('prints one JSON document with --json', async () => {
    const out = path.join(tmp, 'cli-out');
    const r = await run(['align', '--data', RAW, '--out', out, '--pick', 'central', '--json', '--quiet']);
    expect(r.error).toBeUndefined();
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ total: 8, aligned: 8, detectionRate: 1, config: { pick: 'central' } });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).config.pick).toBe('central');
  });

  it('fails with a message naming a bad flag value', async () => {
    const r = await run(['align', '--data', RAW, '--out', path.join(tmp, 'cli-bad'), '--pad-retry', 'lots']);
    expect(r.error?.message).toMatch(/--pad-retry must be a number, got "lots"/);
    const r2 = await run(['align', '--out', path.join(tmp, 'cli-bad2')]);
    expect(r2.error?.message).toMatch(/--data <dir> is required \(or "data" in --config\)/);
  });
});
