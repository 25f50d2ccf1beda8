/**
 * For a process started with an IPC channel by a parent that waits on it (`sweep --jobs` runs each
 * heavy step as `sweep --only ID` this way): when the parent dies, even by SIGKILL, the channel
 * closes, and the child stops too instead of running on, unseen, beside the copy of its step that
 * a re-run of the parent would start. Without a channel (run by hand) it does nothing.
 * The channel is unref'd so that it does not keep a finished child alive.
 */
export function exitWithParent(onExit: () => void = () => {}, code = 1): void {
  const channel = process.channel;
  if (!channel) return;
  channel.unref();
  process.once('disconnect', () => {
    try {
      onExit(); // e.g. a last log line, to a stderr whose reader may be gone (EPIPE)
    } finally {
      process.exit(code);
    }
  });
}
