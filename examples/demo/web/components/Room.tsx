import { useMutation } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import type { FormEvent } from 'react';
import { useEffect, useReducer, useRef, useState } from 'react';
import type { FeedEvent, FeedMessage, RoomName } from '../../server/feed.js';
import type { Role } from '../../server/users.js';
import type { FeedAction, FeedState } from '../feedState.js';
import { emptyFeed, feedReducer, messageOf } from '../feedState.js';
import { useTRPC } from '../trpc.js';

const roomReducer: (state: FeedState<FeedMessage>, action: FeedAction<FeedMessage>) => FeedState<FeedMessage> = feedReducer;

const TITLES: Record<RoomName, { title: string; about: string }> = {
  public: { title: 'Public room', about: 'everyone signed in may read it' },
  private: { title: 'Private room', about: 'admins only: re-checked whenever your role changes' },
};

function time(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

/**
 * A room streamed by a tracked subscription through tRPC's TanStack Query integration.
 * `role` is the server session's (the `me` query), `undefined` until it answered.
 */
export function Room({ room, role }: { room: RoomName; role: Role | undefined }) {
  const trpc = useTRPC();
  const [feed, dispatch] = useReducer(roomReducer, emptyFeed);
  const onData = (event: { id: string; data: FeedEvent }) => dispatch({ type: 'receive', message: messageOf(event) });
  const procedure = room === 'public' ? trpc.publicRoom : trpc.privateRoom;
  const subscription = useSubscription(procedure.subscriptionOptions({}, { onData }));
  const failed = subscription.status === 'error';
  const rejoin = () => {
    dispatch({ type: 'reset' });
    subscription.reset();
  };
  const mayRead = room === 'public' || role === 'admin';

  // The server ended the subscription under an earlier role, and the role changed since to one
  // that may read the room (back to admin): the error is out of date, so join again rather than
  // keep showing it.
  const roleSeen = useRef(role);
  const latestRejoin = useRef(rejoin);
  latestRejoin.current = rejoin;
  useEffect(() => {
    const changed = roleSeen.current !== undefined && role !== undefined && role !== roleSeen.current;
    roleSeen.current = role;
    if (changed && failed && mayRead) latestRejoin.current();
  }, [role, failed, mayRead]);

  return (
    <section className={`panel room room-${room}`} data-testid={`room-${room}`}>
      <header>
        <h2>{TITLES[room].title}</h2>
        <span className="counters">
          <span className={`sub sub-${subscription.status}`} data-testid={`sub-${room}`}>{subscription.status}</span>
          missed <b data-testid={`missed-${room}`}>{feed.missed}</b> · twice <b data-testid={`dupes-${room}`}>{feed.duplicates}</b>
        </span>
        <p className="about">{TITLES[room].about}</p>
      </header>
      <ol className="messages" data-testid={`messages-${room}`} aria-label="newest first">
        {[...feed.messages].reverse().map((message) => (
          <li key={message.id} className={`message kind-${message.kind}`} data-testid="message" data-id={message.id}>
            <span className="id">#{message.id}</span>
            <time>{time(message.at)}</time>
            <b>{message.author}</b> <span className="text">{message.text}</span>
          </li>
        ))}
      </ol>
      {failed && subscription.error && (
        <p className="error" data-testid={`error-${room}`} role="alert">
          <b>{subscription.error.data?.code ?? 'ERROR'}</b>: {subscription.error.message}{' '}
          <button className="link" data-testid={`rejoin-${room}`} onClick={rejoin}>
            rejoin
          </button>
        </p>
      )}
      <Composer room={room} disabled={!mayRead || failed} />
    </section>
  );
}

function Composer({ room, disabled }: { room: RoomName; disabled: boolean }) {
  const trpc = useTRPC();
  const [text, setText] = useState('');
  const post = useMutation(trpc.post.mutationOptions({ onSuccess: () => setText('') }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() !== '') post.mutate({ room, text });
  };
  return (
    <form className="composer" onSubmit={submit}>
      <input data-testid={`composer-${room}`} value={text} maxLength={280} disabled={disabled} placeholder={disabled ? 'read-only' : 'say something'} onChange={(e) => setText(e.target.value)} />
      <button type="submit" data-testid={`post-${room}`} disabled={disabled || post.isPending || text.trim() === ''}>
        Post
      </button>
      {post.error && <span className="error">{post.error.message}</span>}
    </form>
  );
}
