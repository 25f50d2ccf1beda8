import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';
import { cliMessage, flagForKey } from '../../src/cli/handle-error.js';
import { FaceMaeError } from '../../src/core/errors.js';
import { irmFromEmbeddings } from '../../src/losses/irm.js';
import { initEngine, tf } from '../../src/engine/backend.js';

const verb = (name: string) => buildProgram().commands.find((c) => c.name() === name);

describe('library errors name config keys; the CLI adds its flag', () => {
  it('maps plain, nested and leaf keys to the verb’s flags', () => {
    expect(flagForKey(verb('train-mae'), 'batchSize')).toBe('--batch-size');
    expect(flagForKey(verb('train-mae'), 'irm.teacher')).toBe('--irm-teacher');
    expect(flagForKey(verb('train-mae'), 'model.imageSize')).toBe('--image-size');
    expect(flagForKey(verb('train-mae'), 'irm.temperature')).toBeUndefined();
  });

  it('the IRM batch error names batchSize, and the CLI prints the flag beside it', async () => {
    await initEngine();
    const a = tf.ones([2, 4]) as tf.Tensor2D;
    let e: unknown;
    try {
      irmFromEmbeddings(a, a);
    } catch (err) {
      e = err;
    }
    a.dispose();
    expect(e).toBeInstanceOf(FaceMaeError);
    const err = e as FaceMaeError;
    expect(err.message).toMatch(/raise batchSize\)$/);
    expect(err.message).not.toMatch(/--/);
    expect(cliMessage(err, verb('train-mae'))).toMatch(/\[batchSize: --batch-size\]$/);
    expect(cliMessage(new FaceMaeError('x', 'E', { key: 'irm.temperature' }), verb('train-mae'))).toBe(
      'x [irm.temperature: --set irm.temperature=...]',
    );
  });
});
