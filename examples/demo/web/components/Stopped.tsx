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
