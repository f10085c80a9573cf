import type { FormEvent } from 'react';
import { useState } from 'react';
import { signIn } from '../api.js';

export function SignIn({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await signIn(name));
    } catch (cause) {
      setError(cause instanceof Error ? cause.message : String(cause));
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>trpc-lanyard</h1>
      <p className="lede">
        A tRPC WebSocket that stays authenticated for its whole life. Sign in and watch short-lived tokens
        rotate in band while the socket stays the same.
      </p>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="name">Your name</label>
        <input id="name" data-testid="signin-name" value={name} maxLength={24} autoFocus placeholder="Ada" onChange={(e) => setName(e.target.value)} />
        <button type="submit" data-testid="signin-submit" disabled={busy || name.trim() === ''}>
          Sign in
        </button>
      </form>
      {error && <p className="error" role="alert">{error}</p>}
      <p className="hint">
        Sign-in sets an HttpOnly refresh cookie and returns a short-lived access token (an HS256 JWT). New users start as
        <b> admin</b>, so they can read the private room.
      </p>
    </main>
  );
}
