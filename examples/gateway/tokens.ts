import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Access tokens the API issues and the gateway verifies: `<payload>.<HMAC-SHA256>`, base64url,
 * with a secret both processes share (`GATEWAY_SECRET`). A real app would use its identity
 * provider's JWTs; what matters here is that the gateway checks them without calling the API.
 */
export interface TokenClaims {
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

const devSecret = 'dev-only-secret: set GATEWAY_SECRET';
const secret = process.env['GATEWAY_SECRET'] || devSecret;
if (secret === devSecret && process.env['NODE_ENV'] === 'production') {
  throw new Error('GATEWAY_SECRET must be set in production');
}

function mac(payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

export function signToken(claims: TokenClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${mac(payload)}`;
}

/** The token's claims, or `null` when it is malformed, forged or expired. */
export function verifyToken(token: unknown, nowMs = Date.now()): TokenClaims | null {
  if (typeof token !== 'string' || token.length > 1024) return null;
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return null;
  const expected = Buffer.from(mac(payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<TokenClaims>;
    if (typeof claims.name !== 'string' || typeof claims.expiresAt !== 'number' || claims.expiresAt <= nowMs) return null;
    return { name: claims.name, expiresAt: claims.expiresAt };
  } catch {
    return null;
  }
}
