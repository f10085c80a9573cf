import { TRPCError } from '@trpc/server';
import { HISTORY_GAP_CODE, HISTORY_GAP_MESSAGE_PREFIX } from '../protocol/historyGap.js';
import type { HistoryGapReason } from './types.js';

/**
 * A stream could not replay every event after its `lastEventId`, and had no `onGap` hook: the
 * subscription ends with this error and nothing of the missed range is replayed. It reaches
 * clients as code PRECONDITION_FAILED with a message starting `lanyard.history-gap`
 * (`isHistoryGapError` from `trpc-lanyard` recognises it on both sides).
 */
export class HistoryGapError extends TRPCError {
  override readonly name = 'HistoryGapError';
  readonly reason: HistoryGapReason;
  readonly lastEventId: string;

  constructor(reason: HistoryGapReason, lastEventId: string) {
    super({
      code: HISTORY_GAP_CODE,
      message: `${HISTORY_GAP_MESSAGE_PREFIX} (${reason}): the events after lastEventId are not retained; reload state and subscribe without lastEventId`,
    });
    this.reason = reason;
    this.lastEventId = lastEventId;
  }
}

/** Message prefix of {@link MalformedEventIdError}. */
export const MALFORMED_EVENT_ID_MESSAGE_PREFIX = 'lanyard.malformed-event-id';

/** `lastEventId` is not a broker event id (`<epoch>.<offset>`): code BAD_REQUEST. */
export class MalformedEventIdError extends TRPCError {
  override readonly name = 'MalformedEventIdError';

  constructor() {
    super({
      code: 'BAD_REQUEST',
      message: `${MALFORMED_EVENT_ID_MESSAGE_PREFIX}: lastEventId is not a broker event id (<epoch>.<offset>)`,
    });
  }
}

/** Message prefix of {@link BrokerClosedError}. */
export const BROKER_CLOSED_MESSAGE_PREFIX = 'lanyard.broker-closed';

/** The broker was closed: its streams end, and publish rejects, with code SERVICE_UNAVAILABLE. */
export class BrokerClosedError extends TRPCError {
  override readonly name = 'BrokerClosedError';

  constructor() {
    super({ code: 'SERVICE_UNAVAILABLE', message: `${BROKER_CLOSED_MESSAGE_PREFIX}: the broker is closed` });
  }
}
