/**
 * Redis connections for the job queue. BullMQ (and ioredis under it) retries a lost connection
 * forever, which is what a long run wants once it is going, but a wrong URL at start-up would
 * then hang silently: `probeRedis` fails fast with a message naming the URL instead.
 */
import { Redis } from 'ioredis';
import { FaceMaeError } from '../core/errors.js';

/** Seconds a start-up probe waits for Redis before giving up. */
export const PROBE_TIMEOUT_MS = 3000;

/** Refuses anything but redis://HOST:PORT[/DB] (or rediss://), naming the bad value. */
export function checkQueueUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FaceMaeError(`--queue must be a URL like redis://127.0.0.1:6379, got "${url}"`, 'E_CONFIG');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new FaceMaeError(`--queue must start with redis:// or rediss://, got "${url}"`, 'E_CONFIG');
  return u;
}

/** Connects once without retries; throws a FaceMaeError naming `url` when Redis does not answer. */
export async function probeRedis(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  checkQueueUrl(url);
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  r.on('error', () => {}); // the rejection below carries it
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new FaceMaeError(
      `cannot reach the Redis queue at ${url} (${why}): start redis-server there or pass the right --queue URL`,
      'E_QUEUE_UNREACHABLE',
      { cause: e },
    );
  } finally {
    r.disconnect();
  }
}

/** A long-lived connection that reconnects by itself (BullMQ needs maxRetriesPerRequest null). */
export function openRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}
