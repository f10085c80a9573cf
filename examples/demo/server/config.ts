/** The demo server's settings: embedded defaults, each overridable by an environment variable. */
export interface DemoOptions {
  /** The port to listen on; 0 picks a free one. Env `PORT`. @default 3000 */
  readonly port: number;
  /**
   * The interface to listen on: this machine only by default; `0.0.0.0` or `::` for every
   * interface (the page is then also accepted from this machine's addresses). Env `HOST`.
   * @default '127.0.0.1'
   */
  readonly host: string;
  /** How long an access token lives, in seconds. Env `DEMO_TOKEN_TTL_S`. @default 20 */
  readonly tokenTtlSeconds: number;
  /** How long before a token expires the server asks for a fresh one. Env `DEMO_REFRESH_AHEAD_MS`. @default 8000 */
  readonly refreshAheadMs: number;
  /** How long after expiry a refresh may still arrive. Env `DEMO_EXPIRY_GRACE_MS`. @default 2000 */
  readonly expiryGraceMs: number;
  /** How often the bot posts to the rooms and edits the document; 0: never. Env `DEMO_BOT_INTERVAL_MS`. @default 2500 */
  readonly botIntervalMs: number;
  /** How long a document grant (the document panel's own token) lives, in seconds. Env `DEMO_GRANT_TTL_S`. @default 15 */
  readonly grantTtlSeconds?: number;
  /**
   * How long before a document grant expires the server asks for a fresh one (at most half its
   * lifetime). The grace after expiry is `expiryGraceMs`. Env `DEMO_GRANT_REFRESH_AHEAD_MS`. @default 5000
   */
  readonly grantRefreshAheadMs?: number;
  /** Where the built web app is. */
  readonly staticDir: string;
  /** The HS256 key that signs access tokens. Env `DEMO_JWT_SECRET`. @default 32 random bytes per start */
  readonly secret?: Uint8Array;
}

/** The defaults of the optional {@link DemoOptions}. */
export const grantDefaults = {
  grantTtlSeconds: 15,
  grantRefreshAheadMs: 5_000,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

function numberFrom(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return value;
}

function portFrom(env: Env): number {
  const port = numberFrom(env, 'PORT', 3000);
  if (!Number.isInteger(port) || port > 65_535) throw new Error(`PORT must be a whole number from 0 to 65535, got ${JSON.stringify(env['PORT'])}`);
  return port;
}

/** The options from the environment, with the demo's defaults. */
export function optionsFromEnv(env: Env, staticDir: string): DemoOptions {
  const secret = env['DEMO_JWT_SECRET'];
  return {
    port: portFrom(env),
    host: env['HOST'] || '127.0.0.1',
    tokenTtlSeconds: numberFrom(env, 'DEMO_TOKEN_TTL_S', 20),
    refreshAheadMs: numberFrom(env, 'DEMO_REFRESH_AHEAD_MS', 8_000),
    expiryGraceMs: numberFrom(env, 'DEMO_EXPIRY_GRACE_MS', 2_000),
    botIntervalMs: numberFrom(env, 'DEMO_BOT_INTERVAL_MS', 2_500),
    grantTtlSeconds: numberFrom(env, 'DEMO_GRANT_TTL_S', grantDefaults.grantTtlSeconds),
    grantRefreshAheadMs: numberFrom(env, 'DEMO_GRANT_REFRESH_AHEAD_MS', grantDefaults.grantRefreshAheadMs),
    staticDir,
    ...(secret ? { secret: new TextEncoder().encode(secret) } : {}),
  };
}
