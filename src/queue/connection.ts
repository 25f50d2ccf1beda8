/**
 * Redis connections for the job queue. BullMQ (and ioredis under it) retries a lost connection
 * forever, which is what a long run wants once it is going, but a wrong URL at start-up would
 * then hang silently: `probeRedis` fails fast with a message naming the URL instead.
 *
 * Credentials: `redis://USER:PASSWORD@HOST:PORT/DB` (USER is a Redis 6+ ACL user; leave it out
 * for `requirepass`), `rediss://` for TLS; or the password in FACEMAE_QUEUE_PASSWORD, which keeps
 * it off the command line. Every message and saved config shows the URL with the password masked.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { FaceMaeError } from '../core/errors.js';

/** Seconds a start-up probe waits for Redis before giving up. */
export const PROBE_TIMEOUT_MS = 3000;

/** The environment variable a password may come from instead of the URL. */
export const QUEUE_PASSWORD_ENV = 'FACEMAE_QUEUE_PASSWORD';

/** `url` with its password (if any) replaced by `***`, for messages and saved configs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
  }
}

/** Refuses anything but redis://[USER:PASSWORD@]HOST:PORT[/DB] (or rediss://), naming the bad value. */
export function checkQueueUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FaceMaeError(
      `--queue must be a URL like redis://127.0.0.1:6379, got "${redactUrl(url)}"`,
      'E_CONFIG',
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new FaceMaeError(
      `--queue must start with redis:// or rediss://, got "${redactUrl(url)}"`,
      'E_CONFIG',
    );
  return u;
}

/** ioredis options every connection adds to the URL: the password from the environment, if the URL has none. */
export function authOptions(url: string): Pick<RedisOptions, 'password'> {
  const env = process.env[QUEUE_PASSWORD_ENV];
  return env && checkQueueUrl(url).password === '' ? { password: env } : {};
}

/** Connects once without retries; throws a FaceMaeError naming `url` when Redis does not answer. */
export async function probeRedis(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  checkQueueUrl(url);
  const r = new Redis(url, {
    ...authOptions(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // the rejection may only say "Connection is closed"; the error event has the cause (NOAUTH …)
  let cause: Error | undefined;
  r.on('error', (e: Error) => (cause ??= e));
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const err = (cause ?? e) as NodeJS.ErrnoException;
    const why = err.code ?? err.message;
    const auth = /NOAUTH|WRONGPASS|AUTH/.test(String(why));
    throw new FaceMaeError(
      auth
        ? `the Redis queue at ${redactUrl(url)} refused the credentials (${why}): put USER:PASSWORD in the URL (redis://USER:PASSWORD@HOST:PORT) or the password in ${QUEUE_PASSWORD_ENV}`
        : `cannot reach the Redis queue at ${redactUrl(url)} (${why}): start redis-server there or pass the right --queue URL`,
      auth ? 'E_QUEUE_AUTH' : 'E_QUEUE_UNREACHABLE',
      { cause: e },
    );
  } finally {
    r.disconnect();
  }
}

/** A long-lived connection that reconnects by itself (BullMQ needs maxRetriesPerRequest null). */
export function openRedis(url: string): Redis {
  return new Redis(url, { ...authOptions(url), maxRetriesPerRequest: null });
}
