/**
 * Progress on stderr: a redrawn bar when stderr is a TTY, otherwise one plain line every
 * `everySec` seconds (so CI logs stay readable). Library code reports through callbacks;
 * only the CLI creates bars.
 */
export interface ProgressBar {
  /** Sets the absolute position and an optional status text (e.g. "loss 0.31 · 42 img/s"). */
  update(done: number, status?: string): void;
  finish(status?: string): void;
}

export function createProgress(
  label: string,
  total: number,
  opts: { stream?: NodeJS.WriteStream; quiet?: boolean; everySec?: number } = {},
): ProgressBar {
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const start = Date.now();
  let lastPrint = 0;
  // In a log (no TTY), the final update already printed the complete line: finish adds nothing new.
  let printedComplete = false;
  const everyMs = (opts.everySec ?? 10) * 1000;
  const render = (done: number, status = '') => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const secs = (Date.now() - start) / 1000;
    const eta = frac > 0 ? secs / frac - secs : 0;
    const head = `${label} ${done}/${total} ${(frac * 100).toFixed(0).padStart(3)}%`;
    const tail = `${status ? ` ${status}` : ''} ${fmt(secs)}<${fmt(eta)}`;
    if (!tty) return `${head}${tail}`;
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - head.length - tail.length - 4));
    const fill = Math.round(frac * width);
    return `${head} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}]${tail}`;
  };
  return {
    update(done, status) {
      if (opts.quiet) return;
      const now = Date.now();
      if (tty) {
        if (now - lastPrint < 100 && done < total) return;
        stream.write(`\r\x1b[K${render(done, status)}`);
      } else {
        if (now - lastPrint < everyMs && done < total) return;
        stream.write(`${render(done, status)}\n`);
        printedComplete = done >= total;
      }
      lastPrint = now;
    },
    finish(status) {
      if (opts.quiet || (!tty && printedComplete && !status)) return;
      stream.write(tty ? `\r\x1b[K${render(total, status)}\n` : `${render(total, status)}\n`);
    },
  };
}

function fmt(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  const r = Math.floor(s % 60);
  return m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}
