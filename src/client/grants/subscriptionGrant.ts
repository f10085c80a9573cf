/**
 * One subscription's grant: where its token comes from, the token it is sent with, and how the
 * token travels on a given socket (PROTOCOL.md § 5.2).
 */
import type { TRPCCombinedDataTransformer } from '@trpc/server';
import { TRPCClientError } from '@trpc/client';
import type { RequestMessage } from '../../protocol/index.js';
import { GRANT_INPUT_KEY } from '../../protocol/grants.js';
import type { Call } from '../calls/call.js';
import type { Connection } from '../socket/connection.js';
import { Negotiation } from '../socket/negotiation.js';
import { grantInputError } from './grantErrors.js';
import type { GrantProvider } from './types.js';

/** The answer to a `lanyard.grant.refresh` under way for one subscription. */
export interface GrantRefreshState {
  /** The socket that asked, and the subscription's wire id there. */
  readonly connection: Connection;
  readonly wireId: number;
  /** The newest `seq` it asked with: what the answer echoes as `answers`. */
  seq: number;
  /** `Date.now()` after which the server ends the subscription anyway. */
  deadlineAt: number;
}

/** What {@link SubscriptionGrant.paramsOn} returns when the subscription must wait. */
export const HOLD = Symbol('hold');

/** The state of one grant subscription's grant; `Call.grant`. */
export class SubscriptionGrant {
  /** The token the subscription was (or will next be) sent with; `undefined`: it needs none. */
  public token: string | undefined = undefined;
  /** The next send needs a token from the provider first: until the first one lands, and again after its socket was lost. */
  public awaitingToken = true;
  /** The provider call in flight (never two for one subscription), or `null`. */
  public flight: Promise<string | null | undefined> | null = null;
  /** The `lanyard.grant.refresh` being answered, or `null`. */
  public refresh: GrantRefreshState | null = null;
  /** The token a stock server last ended the subscription under (`grant-expired`) before it was sent again; `null` if none. */
  public renewedFrom: string | null = null;

  constructor(
    public readonly provider: GrantProvider,
    /** The input as the application passed it, before the transformer. */
    public readonly rawInput: unknown,
    public readonly transformer: TRPCCombinedDataTransformer,
  ) {}

  /**
   * The params `call` is sent with on `connection`: the token in `params.grant` when the server
   * said hello, in the input (`grant`) for a stock one. {@link HOLD} while the token is awaited
   * (unless `moving`: a subscription moved make-before-break keeps its token) or the socket has
   * not yet shown what it is (a probe is sent); an error when the token cannot travel there.
   */
  public paramsOn(call: Call, connection: Connection, moving: boolean): RequestMessage['params'] | typeof HOLD | Error {
    if (this.awaitingToken && !moving) return HOLD;
    const { token } = this;
    const { path, input, lastEventId } = call;
    if (token === undefined) return { path, input, lastEventId };
    switch (connection.negotiation) {
      case Negotiation.Pending:
        connection.probe();
        return HOLD;
      case Negotiation.Lanyard:
        return { path, input, lastEventId, grant: token };
      case Negotiation.Stock: {
        const raw = this.rawInput;
        if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) return grantInputError(path);
        try {
          return { path, input: this.transformer.input.serialize({ ...raw, [GRANT_INPUT_KEY]: token }), lastEventId };
        } catch (cause) {
          return TRPCClientError.from(cause instanceof Error ? cause : new Error(String(cause)));
        }
      }
    }
  }
}
