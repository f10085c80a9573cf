import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { DocId } from './catalog.js';
import { isDocId } from './catalog.js';
import { ISSUER } from './tokens.js';

/** What a grant token is for: one document. An access token (audience `…/ws`) is not one, nor the other way round. */
const AUDIENCE = 'trpc-lanyard-demo/doc';

/** What a verified document grant token says. */
export interface GrantClaims {
  readonly userId: string;
  readonly docId: DocId;
  /** The user's access generation for the document when it was issued (see `DocAccess`). */
  readonly generation: number;
  /** From `exp`, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** A grant token and when it expires (ms since the epoch), as `POST /api/doc-grant` answers it. */
export interface IssuedGrant {
  readonly token: string;
  readonly expiresAt: number;
}

export interface GrantIssuer {
  /** A short-lived HS256 JWT that opens `docId` for `userId` (claims `sub`, `doc`, `gen`, `jti`, `iat`, `exp`). */
  issue(userId: string, docId: DocId, generation: number): Promise<IssuedGrant>;
  /** The claims of a valid, unexpired grant token; throws otherwise. */
  verify(token: string): Promise<GrantClaims>;
}

/** Document grants, signed with the access tokens' key: short-lived (`ttlSeconds`), for one user and one document. */
export function createGrantIssuer(secret: Uint8Array, ttlSeconds: number): GrantIssuer {
  return {
    async issue(userId, docId, generation) {
      const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
      const token = await new SignJWT({ doc: docId, gen: generation })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(userId)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(secret);
      return { token, expiresAt: exp * 1000 };
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      const { sub, doc, gen, exp } = payload;
      if (typeof sub !== 'string' || !isDocId(doc) || typeof gen !== 'number' || typeof exp !== 'number') throw new Error('malformed grant token');
      return { userId: sub, docId: doc, generation: gen, expiresAt: exp * 1000 };
    },
  };
}
