import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { CloseCode } from '../protocol/closeCodes.js';
import type { ClientCallMessage } from '../protocol/messages.js';
import { checkClientCall, checkConnectionParams, ProtocolErrorMessage } from '../protocol/validate.js';
import { protocolError } from './errors.js';
import { FrameFaults } from './frameFaults.js';
import type { Encoder } from './options.js';
import { refuseBatch } from './refusals.js';
import type { CallScope } from './scope.js';

/** Where a connection stands for its frames: the params frame awaited, no session accepted yet, or one accepted. */
export type IntakeStage = 'params' | 'unauthenticated' | 'authenticated';

/** What {@link FrameIntake} needs from its connection. */
export interface IntakeHost<TRouter extends AnyRouter> extends CallScope<TRouter> {
  readonly stage: IntakeStage;
  close(code: number, reason: string): void;
  /** The `connectionParams` frame was valid: authenticate with its `data`. */
  acceptParams(data: Record<string, string> | null): void;
  /** One valid message of a frame (`batchIndex`: its place in the batch). */
  route(message: ClientCallMessage, batchIndex: number): void;
}

/**
 * What one client frame becomes (after `PING`/`PONG` and the size check): decoded, then the
 * `connectionParams` frame or the messages routed one by one, or refused. Before
 * authentication junk closes the socket (4400); after, it is answered.
 */
export class FrameIntake<TRouter extends AnyRouter> {
  constructor(
    private readonly host: IntakeHost<TRouter>,
    private readonly encoder: Encoder | undefined,
    /** `maxBatchSize` with its default: `Infinity` when lifted. */
    private readonly maxBatchSize: number,
  ) {}

  accept(data: string | Uint8Array): void {
    const awaitingParams = this.host.stage === 'params';
    let decoded: unknown;
    try {
      decoded = this.decode(data);
    } catch (cause) {
      // Stock's messages: for the params frame its own, otherwise the parser's (e.g. "Unexpected token …").
      if (awaitingParams) this.reject(protocolError(ProtocolErrorMessage.malformedConnectionParams, cause));
      else this.reject(cause instanceof TRPCError ? cause : new TRPCError({ code: 'PARSE_ERROR', cause }));
      return;
    }
    if (awaitingParams) this.acceptConnectionParams(decoded);
    else this.routeCalls(decoded);
  }

  private decode(data: string | Uint8Array): unknown {
    if (this.encoder) return this.encoder.decode(data);
    if (typeof data !== 'string') throw protocolError(ProtocolErrorMessage.binaryFrame);
    return JSON.parse(data);
  }

  /**
   * A frame that is not a message. A bad `connectionParams` frame is answered, then closes the
   * connection; any other before authentication closes it unanswered (4400), so junk costs an
   * unauthenticated client its socket rather than the server work; after, it is answered.
   */
  private reject(error: TRPCError): void {
    const { host } = this;
    switch (host.stage) {
      case 'params':
        host.send(host.frames.error(null, host.errors.report(error, 'unknown', undefined, undefined)));
        host.close(CloseCode.BadRequest, 'malformed connectionParams message');
        return;
      case 'unauthenticated':
        host.errors.notify({ error, type: 'unknown', path: undefined, input: undefined });
        host.close(CloseCode.BadRequest, 'malformed message before authentication');
        return;
      case 'authenticated':
        host.send(host.frames.error(null, host.errors.report(error, 'unknown', undefined, undefined)));
        return;
    }
  }

  private acceptConnectionParams(decoded: unknown): void {
    const checked = checkConnectionParams(decoded);
    if (checked.ok) this.host.acceptParams(checked.message.data);
    else this.reject(protocolError(checked.message, checked.problem));
  }

  /**
   * Routes the messages of one frame. The work is bounded: at most `maxBatchSize` elements are
   * looked at one by one (a longer batch is refused whole), bad ones are answered through one
   * {@link FrameFaults}, and nothing more is done once the connection is closing.
   */
  private routeCalls(decoded: unknown): void {
    const { host } = this;
    const batch = Array.isArray(decoded) ? (decoded as unknown[]) : [decoded];
    if (batch.length === 0) {
      this.reject(protocolError('Invalid message: a batch must hold at least one message', 'empty batch'));
      return;
    }
    if (batch.length > this.maxBatchSize) {
      refuseBatch(host, batch);
      return;
    }
    let faults: FrameFaults<TRouter> | null = null;
    for (let index = 0; index < batch.length && host.isOpen; index++) {
      const checked = checkClientCall(batch[index]);
      if (checked.ok) {
        host.route(checked.message, index);
      } else if (host.stage === 'unauthenticated') {
        this.reject(protocolError(checked.message, checked.problem));
      } else {
        faults ??= new FrameFaults(host);
        faults.answer(checked);
      }
    }
  }
}
