import type { AnyRouter } from '@trpc/server';
import type { CheckedCall } from '../protocol/validate.js';
import type { ErrorShape } from '../protocol/messages.js';
import { protocolError } from './errors.js';
import type { Frame } from './frames.js';
import type { CallScope } from './scope.js';

type Fault = Extract<CheckedCall, { ok: false }>;

interface Answer {
  readonly shape: ErrorShape;
  /** The `{ id: null }` frame for this message, sent at most once per frame. */
  nullFrame: Frame | null;
}

/**
 * Answers the malformed elements of one client frame at a bounded cost: one `TRPCError` (and
 * one stack) per distinct message rather than per element, `onError` once per frame, and one
 * `{ id: null }` answer per distinct message (elements without a readable id cannot be told
 * apart by the client anyway). An element with an id still gets its own answer.
 */
export class FrameFaults<TRouter extends AnyRouter> {
  private reported = false;
  private readonly answers = new Map<string, Answer>();

  constructor(private readonly scope: CallScope<TRouter>) {}

  answer(fault: Fault): void {
    let answer = this.answers.get(fault.message);
    if (!answer) {
      const call = { error: protocolError(fault.message, fault.problem), type: 'unknown', path: undefined, input: undefined } as const;
      if (!this.reported) this.scope.errors.notify(call);
      this.reported = true;
      answer = { shape: this.scope.errors.shape(call), nullFrame: null };
      this.answers.set(fault.message, answer);
    }
    if (fault.id !== null) {
      this.scope.send(this.scope.frames.error(this.scope.frames.head(fault.id, fault.jsonrpc), answer.shape));
    } else if (answer.nullFrame === null) {
      answer.nullFrame = this.scope.frames.error(null, answer.shape);
      this.scope.send(answer.nullFrame);
    }
  }
}
