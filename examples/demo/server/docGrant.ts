import { TRPCError } from '@trpc/server';
import type { VerifyGrantOptions } from 'trpc-lanyard/server';
import type { DocId } from './catalog.js';
import { DOCUMENTS } from './catalog.js';
import type { GrantIssuer } from './grantTokens.js';
import type { Users } from './users.js';
import { parseDocId } from './validate.js';

/** What `doc.watch` reads as `ctx.grant`: which document is open, and until when. */
export interface DocGrant {
  readonly docId: DocId;
  /** From the token's `exp`, in milliseconds since the epoch: `requireGrant` asks for a fresh token before then. */
  readonly expiresAt: number;
}

/** The message a withdrawn access ends the document's subscription with, and refuses its tokens with. */
export const withdrawnReason = (docId: DocId): string => `your access to document ${DOCUMENTS[docId]} was withdrawn`;

/**
 * `requireGrant`'s `verify` for `doc.watch`: at subscribe time, on every in-band refresh and on a
 * resume. The token must be a valid, unexpired grant (else UNAUTHORIZED), for this user and this
 * document, issued under the user's current access generation, which must not be withdrawn
 * (else FORBIDDEN). Like `authenticate`, it reads the access from the user store every time.
 */
export function docGrantVerifier(grants: GrantIssuer, users: Users) {
  return async ({ ctx, input, token }: VerifyGrantOptions<{ session: { userId: string } }>): Promise<DocGrant> => {
    const { docId } = parseDocId(input);
    const claims = await grants.verify(token).catch(() => {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'invalid or expired document grant' });
    });
    if (claims.userId !== ctx.session.userId || claims.docId !== docId) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `this grant does not open ${DOCUMENTS[docId]} for you` });
    }
    const access = await users.docAccess(ctx.session.userId, docId);
    if (access.withdrawn) throw new TRPCError({ code: 'FORBIDDEN', message: withdrawnReason(docId) });
    if (claims.generation !== access.generation) throw new TRPCError({ code: 'FORBIDDEN', message: 'this grant was issued before your access was withdrawn' });
    return { docId, expiresAt: claims.expiresAt };
  };
}
