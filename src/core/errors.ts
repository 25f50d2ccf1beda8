/**
 * A user-facing error: its message names the bad file or value and says what to do.
 * The CLI prints only the message (no stack) unless --verbose.
 */
export class FaceMaeError extends Error {
  override readonly name = 'FaceMaeError';
  constructor(
    message: string,
    /** Optional machine-readable code, e.g. 'E_IMAGE_CORRUPT'. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Throws a FaceMaeError when `cond` is false. */
export function check(cond: unknown, message: string, code?: string): asserts cond {
  if (!cond) throw new FaceMaeError(message, code);
}
