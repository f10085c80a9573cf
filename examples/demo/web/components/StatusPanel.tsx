import type { MonitorSnapshot } from '../monitor.js';
import { useNow } from './useNow.js';

function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

export function StatusPanel({ snapshot }: { snapshot: MonitorSnapshot }) {
  const now = useNow(100);
  const remainingMs = snapshot.expiresAt === null ? null : Math.max(0, snapshot.expiresAt - now);
  const share = remainingMs === null || snapshot.tokenLifetimeMs === null ? 0 : Math.min(1, remainingMs / snapshot.tokenLifetimeMs);

  return (
    <section className="panel status" aria-label="connection status">
      <h2>Connection</h2>
      <p className={`label label-${snapshot.label.replace(' ', '-')}`} data-testid="status-label">
        {snapshot.label}
      </p>
      <dl>
        <dt>token expires in</dt>
        <dd>
          <span data-testid="status-expires">{remainingMs === null ? '—' : `${(remainingMs / 1000).toFixed(1)} s`}</span>
          <span className="bar" aria-hidden>
            <span style={{ width: `${share * 100}%` }} />
          </span>
        </dd>
        <dt>access token</dt>
        <dd>
          <code data-testid="token-id">{snapshot.tokenId ?? '—'}</code>
        </dd>
        <dt>in-band refreshes</dt>
        <dd data-testid="stat-refreshes">{snapshot.refreshes}</dd>
        <dt>sockets opened</dt>
        <dd data-testid="stat-sockets">{snapshot.socketsOpened}</dd>
        <dt>auth state</dt>
        <dd>
          <code data-testid="status-auth">{snapshot.auth}</code>
        </dd>
      </dl>
      <h3>Lifecycle</h3>
      <ol className="log" data-testid="lifecycle-log">
        {snapshot.log.map((entry, i) => (
          <li key={`${entry.at}-${i}`}>
            <time>{clock(entry.at)}</time> {entry.text}
          </li>
        ))}
      </ol>
    </section>
  );
}
