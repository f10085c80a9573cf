import { useMutation } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useReducer, useSyncExternalStore } from 'react';
import type { DocId } from '../../server/catalog.js';
import { DOCUMENTS } from '../../server/catalog.js';
import type { DocEvent } from '../../server/documents.js';
import { docEndingOf } from '../docEnded.js';
import type { DocGrants } from '../docGrants.js';
import type { FeedAction, FeedState, Numbered } from '../feedState.js';
import { emptyFeedOf, feedReducer, messageOf } from '../feedState.js';
import { useTRPC } from '../trpc.js';
import { useNow } from './useNow.js';

type DocMessage = DocEvent & Numbered;
const docReducer: (state: FeedState<DocMessage>, action: FeedAction<DocMessage>) => FeedState<DocMessage> = feedReducer;

function time(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

/**
 * A document's edits, streamed by `doc.watch` under a grant of its own: a short-lived token for
 * this document, fetched by the wsLink's grant provider and refreshed in band before it expires,
 * on the same socket (`grantRefreshes`: the client's `stats.grantRefreshes`, those the server
 * accepted). "Withdraw my access" ends this subscription only (the server's
 * `endSubscriptions`); the panel then shows the typed reason, and can ask for access again.
 */
export function DocumentPanel({ docId, grants, grantRefreshes }: { docId: DocId; grants: DocGrants; grantRefreshes: number }) {
  const trpc = useTRPC();
  const [feed, dispatch] = useReducer(docReducer, emptyFeedOf<DocMessage>());
  const onData = (event: { id: string; data: DocEvent }) => dispatch({ type: 'receive', message: messageOf(event) });
  const subscription = useSubscription(trpc.doc.watch.subscriptionOptions({ docId }, { onData }));
  const grant = useSyncExternalStore(grants.subscribe, () => grants.view(docId));
  const ended = subscription.status === 'error' && subscription.error !== null ? docEndingOf(subscription.error) : null;
  const withdraw = useMutation(trpc.doc.withdraw.mutationOptions());
  const reopen = () => {
    dispatch({ type: 'reset' });
    subscription.reset();
  };
  const restore = useMutation(trpc.doc.restore.mutationOptions({ onSuccess: reopen }));
  const now = useNow(100);
  const remainingMs = ended !== null || grant.expiresAt === null ? null : Math.max(0, grant.expiresAt - now);
  const share = remainingMs === null || grant.lifetimeMs === null ? 0 : Math.min(1, remainingMs / grant.lifetimeMs);

  return (
    <section className="panel room room-doc" data-testid="room-doc" aria-label="document">
      <header>
        <h2>Document: {DOCUMENTS[docId]}</h2>
        <span className="counters">
          <span className={`sub sub-${subscription.status}`} data-testid="sub-doc">{subscription.status}</span>
          missed <b data-testid="missed-doc">{feed.missed}</b> · twice <b data-testid="dupes-doc">{feed.duplicates}</b>
        </span>
        <p className="about">needs its own grant: a {grant.lifetimeMs === null ? 'short-lived' : `${grant.lifetimeMs / 1000} s`} token for this document, refreshed in band</p>
      </header>
      <dl className="grant">
        <dt>grant expires in</dt>
        <dd>
          <span data-testid="doc-grant-expires">{remainingMs === null ? '—' : `${(remainingMs / 1000).toFixed(1)} s`}</span>
          <span className="bar" aria-hidden>
            <span style={{ width: `${share * 100}%` }} />
          </span>
        </dd>
        <dt>grant token</dt>
        <dd>
          <code data-testid="doc-grant-id">{grant.tokenId ?? '—'}</code>
        </dd>
        <dt>fetched for</dt>
        <dd>
          <code data-testid="doc-grant-reason">{grant.lastReason ?? '—'}</code>
        </dd>
        <dt>in-band grant refreshes</dt>
        <dd data-testid="doc-grant-refreshes">{grantRefreshes}</dd>
      </dl>
      <ol className="messages" data-testid="messages-doc" aria-label="newest first">
        {[...feed.messages].reverse().map((message) => (
          <li key={message.id} className={`message kind-${message.kind}`} data-testid="message" data-id={message.id}>
            <span className="id">#{message.id}</span>
            <time>{time(message.at)}</time>
            <b>{message.author}</b> <span className="text">{message.text}</span>
          </li>
        ))}
      </ol>
      {ended ? (
        <div className="error" data-testid="doc-ended" role="alert">
          <p>
            ended: <code data-testid="doc-ended-reason">{ended.reason}</code>
            {ended.code !== null && (
              <>
                {' '}(<b data-testid="doc-ended-code">{ended.code}</b>)
              </>
            )}
            : <span data-testid="doc-ended-message">{ended.message}</span>
          </p>
          <p className="detail">Only this subscription ended: the socket and both rooms go on.</p>
          <button data-testid="btn-doc-restore" disabled={restore.isPending} onClick={() => restore.mutate({ docId })}>
            Request access again
          </button>
        </div>
      ) : (
        <div className="doc-actions">
          <button data-testid="btn-doc-withdraw" className="danger" disabled={withdraw.isPending || subscription.status !== 'pending'} onClick={() => withdraw.mutate({ docId })}>
            Withdraw my access to this document
          </button>
          {withdraw.error && <span className="error">{withdraw.error.message}</span>}
        </div>
      )}
    </section>
  );
}
