import type { StopInfo } from '../status.js';

/** After a `'stop'` close (4410 Revoked, 4403 Forbidden): the typed reason, and no retrying. */
export function Stopped({ stop, onSignInAgain }: { stop: StopInfo; onSignInAgain: () => void }) {
  return (
    <section className="panel stopped" data-testid="stopped" role="alert">
      <h2>The server ended this session</h2>
      <p>
        close code <code data-testid="stopped-code">{stop.code ?? '—'}</code>, reason{' '}
        <q data-testid="stopped-reason">{stop.reason ?? '(none given)'}</q>
      </p>
      <p className="detail">{stop.message}</p>
      <p>
        The client stopped: <code>decideAfterClose({stop.code ?? ''})</code> says <code>'stop'</code>, so it does not
        reconnect, and the refresh cookie no longer yields tokens.
      </p>
      <button data-testid="btn-sign-in-again" onClick={onSignInAgain}>
        Sign in again
      </button>
    </section>
  );
}

/**
 * After the token endpoint answered 401 (the server restarted and forgot the refresh cookie, or
 * the user was signed out elsewhere): the page closed the client, so nothing reconnects.
 */
export function SignedOut({ message, onSignInAgain }: { message: string; onSignInAgain: () => void }) {
  return (
    <section className="panel stopped" data-testid="signed-out" role="alert">
      <h2>Signed out: sign in again</h2>
      <p>
        The server no longer gives this page tokens: <q data-testid="signed-out-reason">{message}</q>. It keeps users
        only in memory, so a restart signs everyone out.
      </p>
      <p className="detail">
        The token source threw a typed <code>SignedOutError</code> on the 401 and the page closed the client: retrying
        could not bring the session back, so it does not reconnect.
      </p>
      <button data-testid="btn-sign-in-again" onClick={onSignInAgain}>
        Sign in again
      </button>
    </section>
  );
}
