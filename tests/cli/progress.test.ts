import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return {
    writes,
    stream: { isTTY, columns: 80, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream,
  };
}

describe('createProgress', () => {
  it('in a log prints plain lines, the complete one once', () => {
    const { writes, stream } = fakeStream(false);
    const bar = createProgress('train', 4, { stream, everySec: 0 });
    bar.update(2, 'loss 0.5');
    bar.update(4, 'loss 0.4');
    bar.finish();
    expect(writes).toHaveLength(2);
    expect(writes[0]).toMatch(/^train 2\/4 +50% loss 0\.5/);
    expect(writes[1]).toMatch(/^train 4\/4 100% loss 0\.4/);
    expect(writes.join('')).not.toContain('\r');
  });

  it('on a TTY redraws one line with a bar and ends it with a newline', () => {
    const { writes, stream } = fakeStream(true);
    const bar = createProgress('embed', 10, { stream });
    bar.update(5);
    bar.finish('done');
    expect(writes[0]).toMatch(/^\r\x1b\[K.*embed 5\/10 +50% \[#+\.+\]/);
    expect(writes.at(-1)).toMatch(/embed 10\/10 100% \[#+\] done .*\n$/);
  });

  it('is silent with quiet', () => {
    const { writes, stream } = fakeStream(false);
    const bar = createProgress('x', 2, { stream, quiet: true });
    bar.update(1);
    bar.finish();
    expect(writes).toHaveLength(0);
  });
});
