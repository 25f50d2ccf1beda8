/**
 * The privacy–utility plot as inline SVG: identity-retrieval top-1 (x; lower = more private)
 * against verification accuracy (y; higher = more useful), one colour and polyline per method
 * (FaceMAE's release knobs dashed), points ordered by strength, and the frontier: the points no
 * other point beats on both axes. Pure string building, no DOM.
 */
import type { ReportRow } from './types.js';

export const METHOD_COLORS: Record<string, string> = {
  original: '#111111',
  facemae: '#d62728',
  'facemae-noirm': '#e377c2',
  mask: '#ff7f0e',
  blur: '#1f77b4',
  pixelate: '#2ca02c',
  noise: '#9467bd',
  pixnoise: '#8c564b',
};

/** 'lfw:/long/path/to/verify' -> 'lfw:…/to/verify' (the table header and axis label). */
export function setLabel(spec: string): string {
  const m = /^([a-z][a-z-]*):(.+)$/.exec(spec);
  const [kind, p] = m ? [`${m[1]}:`, m[2]!] : ['', spec];
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts.length > 2 ? `${kind}…/${parts.slice(-2).join('/')}` : `${kind}${p}`;
}

/** A point of the privacy–utility plane: x = re-identification (lower is better), y = utility. */
export interface PlanePoint {
  x: number;
  y: number;
}

/**
 * The points no other point beats on both axes (as private or more and as useful or more, and
 * strictly better on one), sorted by x. Ties keep every copy.
 */
export function paretoFrontier<P extends PlanePoint>(points: readonly P[]): P[] {
  return points
    .filter((p) => !points.some((q) => q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y)))
    .sort((a, b) => a.x - b.x || b.y - a.y);
}

/** A plot's curve: one per method, FaceMAE's release knobs apart (`facemae, paste-back 0`). */
export const curveOf = (r: Pick<ReportRow, 'method' | 'pasteBack'>): string =>
  r.pasteBack === undefined || r.pasteBack === 1 ? r.method : `${r.method}, paste-back ${r.pasteBack}`;

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function privacyUtilityPlot(
  rows: ReportRow[],
  set: string,
  opts: { width?: number; height?: number } = {},
): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 420;
  const m = { l: 60, r: 140, t: 20, b: 50 };
  const pts = rows
    .filter((r) => r.privacy && r.utility[set])
    .map((r) => ({
      r,
      x: r.privacy!.identityTop1,
      y: r.utility[set]!.accuracy,
      ci: r.utility[set]!.ci95,
    }));
  const ys = pts.flatMap((p) => (p.ci ? [p.y, ...p.ci] : [p.y]));
  let y0 = Math.min(0.5, ...ys);
  let y1 = Math.max(0.5, ...ys, 0);
  if (y1 - y0 < 0.05) {
    y0 -= 0.025;
    y1 += 0.025;
  }
  y0 = Math.max(0, Math.floor(y0 * 20) / 20);
  y1 = Math.min(1, Math.ceil(y1 * 20) / 20);
  const sx = (x: number) => m.l + x * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="pu-plot" role="img" aria-label="privacy-utility plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`,
  );
  for (let i = 0; i <= 10; i += 2) {
    const x = sx(i / 10);
    parts.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">${i * 10}%</text>`);
  }
  const ySteps = Math.round((y1 - y0) / 0.05);
  for (let i = 0; i <= ySteps; i++) {
    const v = y0 + (i * (y1 - y0)) / (ySteps || 1);
    parts.push(`<line x1="${m.l}" y1="${sy(v)}" x2="${W - m.r}" y2="${sy(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${sy(v) + 4}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`);
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">identity-retrieval top-1 (attack success; lower = more private)</text>`,
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(setLabel(set))} verification accuracy</text>`,
  );
  // the frontier first, under the curves: a grey staircase through the points nothing beats
  const front = paretoFrontier(pts);
  if (front.length > 1) {
    const d = front.map((p, i) => (i === 0 ? `M${sx(p.x)},${sy(p.y)}` : `H${sx(p.x)}V${sy(p.y)}`)).join('');
    parts.push(
      `<path class="frontier" d="${d}" fill="none" stroke="#999" stroke-width="6" stroke-opacity="0.35" stroke-linejoin="round"><title>frontier: ${esc(front.map((p) => p.r.label).join('; '))}</title></path>`,
    );
  }
  const curves = [...new Set(pts.map((p) => curveOf(p.r)))];
  curves.forEach((curve, mi) => {
    const method = pts.find((p) => curveOf(p.r) === curve)!.r.method;
    const color = METHOD_COLORS[method] ?? '#777';
    const dash = curve === method ? '' : ` stroke-dasharray="${4 + 2 * mi},3"`;
    const mine = pts
      .filter((p) => curveOf(p.r) === curve)
      .sort((a, b) => (a.r.strength ?? 0) - (b.r.strength ?? 0));
    if (mine.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.5"${dash} points="${mine.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')}"/>`,
      );
    }
    for (const p of mine) {
      // The 95% interval of the accuracy, as an error bar with caps.
      if (p.ci) {
        const [a, b] = [sy(p.ci[0]), sy(p.ci[1])];
        const x = sx(p.x);
        parts.push(
          `<path class="err" d="M${x},${a}V${b}M${x - 4},${a}H${x + 4}M${x - 4},${b}H${x + 4}" stroke="${color}" stroke-width="1.2" fill="none"/>`,
        );
      }
      parts.push(
        `<circle class="pt" cx="${sx(p.x)}" cy="${sy(p.y)}" r="5" fill="${color}"><title>${esc(p.r.label)}: top-1 ${(p.x * 100).toFixed(1)}%, acc ${(p.y * 100).toFixed(1)}%</title></circle>`,
      );
    }
    const ly = m.t + 14 + mi * 18;
    parts.push(`<circle cx="${W - m.r + 16}" cy="${ly - 4}" r="5" fill="${color}"/>`);
    parts.push(`<text x="${W - m.r + 26}" y="${ly}">${esc(curve)}</text>`);
  });
  if (front.length > 1) {
    const ly = m.t + 14 + curves.length * 18;
    parts.push(
      `<line x1="${W - m.r + 8}" y1="${ly - 4}" x2="${W - m.r + 24}" y2="${ly - 4}" stroke="#999" stroke-width="6" stroke-opacity="0.35"/>`,
      `<text x="${W - m.r + 26}" y="${ly}">frontier</text>`,
    );
  }
  if (pts.length === 0) {
    parts.push(
      `<text x="${(m.l + W - m.r) / 2}" y="${H / 2}" text-anchor="middle" fill="#999">no method has both figures yet</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}
