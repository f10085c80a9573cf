import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { DemoUser, Role } from './users.js';

/** Who signs the demo's tokens (access tokens and document grants alike). */
export const ISSUER = 'trpc-lanyard-demo';
/** What an access token is for: the socket. A document grant (grantTokens.ts) has another audience, so neither passes for the other. */
const AUDIENCE = 'trpc-lanyard-demo/ws';

/** What a verified access token says. */
export interface AccessClaims {
  readonly userId: string;
  readonly name: string;
  readonly role: Role;
  /** From `exp`, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

export interface TokenIssuer {
  /** A short-lived HS256 JWT carrying the user's current name and role. */
  issue(user: DemoUser): Promise<string>;
  /** The claims of a valid, unexpired token; throws otherwise. */
  verify(token: string): Promise<AccessClaims>;
}

export function createTokenIssuer(secret: Uint8Array, ttlSeconds: number): TokenIssuer {
  return {
    issue: (user) =>
      new SignJWT({ name: user.name, role: user.role })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(user.id)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(secret),
    async verify(token) {
      const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      const { sub, name, role, exp } = payload;
      if (typeof sub !== 'string' || typeof name !== 'string' || (role !== 'admin' && role !== 'member') || typeof exp !== 'number') {
        throw new Error('malformed access token');
      }
      return { userId: sub, name, role, expiresAt: exp * 1000 };
    },
  };
}
