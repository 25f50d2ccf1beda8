/**
 * A user-facing error: its message names the bad file or value and says what to do.
 * The CLI prints only the message (no stack) unless --verbose.
 *
 * Library messages name config keys (`batchSize`, `irm.teacher`), the names a config file or a
 * sweep section uses; `key` carries that name so the CLI can add the flag it maps to.
 */
export class FaceMaeError extends Error {
  override readonly name = 'FaceMaeError';
  /** The config key the message is about (dotted, e.g. 'irm.temperature'), if any. */
  readonly key?: string;
  constructor(
    message: string,
    /** Optional machine-readable code, e.g. 'E_IMAGE_CORRUPT'. */
    readonly code?: string,
    options?: { cause?: unknown; key?: string },
  ) {
    super(message, options);
    if (options?.key !== undefined) this.key = options.key;
  }
}

/** Throws a FaceMaeError when `cond` is false. */
export function check(cond: unknown, message: string, code?: string): asserts cond {
  if (!cond) throw new FaceMaeError(message, code);
}
