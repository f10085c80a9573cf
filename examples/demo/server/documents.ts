import type { TrackedEnvelope } from '@trpc/server';
import type { Broker } from 'trpc-lanyard/broker';
import type { DocId } from './catalog.js';
import { recentThenLive } from './recent.js';

/** What is published to a document's broker channel: one edit (the bot's), or a note of the server's. */
export interface DocEvent {
  readonly docId: DocId;
  readonly author: string;
  readonly text: string;
  readonly at: number;
  readonly kind: 'edit' | 'system';
}

/** How many of a document's newest events a fresh subscriber (one with no last event id) is sent. */
const REPLAY_ON_OPEN = 10;

/** The broker channel of a document's events. */
const channelOf = (docId: DocId): string => `doc:${docId}`;

/**
 * Each document's stream of edits, a channel of the broker (as the rooms are): what `doc.watch`
 * streams as tracked events, so it resumes after a reconnect, on this node or another.
 */
export class Documents {
  /** The newest event id this node published per document: where a fresh subscriber starts from. */
  private readonly newest = new Map<DocId, string>();

  constructor(private readonly broker: Broker) {}

  public async publish(docId: DocId, author: string, text: string, kind: DocEvent['kind'] = 'edit'): Promise<string> {
    const event: DocEvent = Object.freeze({ docId, author, text, at: Date.now(), kind });
    const id = await this.broker.publish(channelOf(docId), event);
    this.newest.set(docId, id);
    return id;
  }

  /** The document's events after `lastEventId` (the last few for a fresh subscriber), then live ones. */
  public stream(docId: DocId, lastEventId: string | null | undefined, signal: AbortSignal | undefined): AsyncGenerator<TrackedEnvelope<DocEvent>> {
    const gapNote = (): DocEvent => ({ docId, author: 'server', text: 'older edits are no longer kept', at: Date.now(), kind: 'system' });
    return recentThenLive({ broker: this.broker, channel: channelOf(docId), newest: this.newest.get(docId), replay: REPLAY_ON_OPEN, gapNote }, lastEventId, signal);
  }
}

const SECTIONS = ['Goals', 'Grants', 'Resume', 'Cluster', 'Open questions'] as const;
const CHANGES = ['reworded', 'added a line to', 'moved the cursor in', 'fixed a typo in'] as const;

/** The bot's `tick`-th edit of a document, e.g. "fixed a typo in § Grants". */
export function botEdit(tick: number): string {
  return `${CHANGES[tick % CHANGES.length] ?? 'edited'} § ${SECTIONS[tick % SECTIONS.length] ?? 'Goals'}`;
}
