/**
 * ROC plot: an SVG (log-scale FPR from 1e-4 to 1, TPR 0..1) rendered to PNG by sharp.
 * Pure in, bytes out: the CLI writes the file.
 */
import sharp from 'sharp';
import type { RocCurve } from './verification.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const esc = (s: string) =>
  s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);

/** An SVG with one line per curve; `label` is printed in the legend. */
export function rocSvg(
  curves: readonly { label: string; roc: RocCurve }[],
  opts: { width?: number; height?: number; minFpr?: number } = {},
): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 480;
  const m = { l: 60, r: 20, t: 30, b: 50 };
  const minFpr = opts.minFpr ?? 1e-4;
  const lo = Math.log10(minFpr);
  const px = (fpr: number) => m.l + ((Math.log10(Math.max(fpr, minFpr)) - lo) / -lo) * (W - m.l - m.r);
  const py = (tpr: number) => H - m.b - tpr * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  for (let e = lo; e <= 0; e++) {
    const x = px(10 ** e);
    parts.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#ddd"/>`);
    parts.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">1e${e}</text>`);
  }
  for (let t = 0; t <= 1.0001; t += 0.2) {
    const y = py(t);
    parts.push(`<line x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${t.toFixed(1)}</text>`);
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="black"/>`,
  );
  parts.push(`<text x="${(W + m.l) / 2}" y="${H - 12}" text-anchor="middle">false accept rate (log)</text>`);
  parts.push(
    `<text x="16" y="${(H - m.b + m.t) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(H - m.b + m.t) / 2})">true accept rate</text>`,
  );
  curves.forEach((c, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const pts = c.roc.fpr
      .map((f, k) => [f, c.roc.tpr[k] as number] as const)
      .filter(([f]) => f >= minFpr)
      .map(([f, t]) => `${px(f).toFixed(1)},${py(t).toFixed(1)}`);
    if (pts.length)
      parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(
      `<line x1="${m.l + 10}" y1="${H - m.b - 14 - 16 * i}" x2="${m.l + 30}" y2="${H - m.b - 14 - 16 * i}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(
      `<text x="${m.l + 36}" y="${H - m.b - 10 - 16 * i}">${esc(c.label)} (AUC ${c.roc.auc.toFixed(4)})</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The ROC plot as PNG bytes. */
export async function rocPng(curves: readonly { label: string; roc: RocCurve }[]): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp(Buffer.from(rocSvg(curves)))
      .png()
      .toBuffer(),
  );
}
