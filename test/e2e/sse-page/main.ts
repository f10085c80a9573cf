/**
 * The page of test/e2e/sseBrowser.test.ts: stock `httpSubscriptionLink` on the browser's own
 * EventSource (which cannot send headers), credentials in an HttpOnly cookie the page cannot read,
 * and the documented retryLink recipe. Before each stream opens, the link's `eventSourceOptions`
 * asks the server for a fresh cookie (`POST /refresh`), so a reopened stream carries fresh credentials.
 * `?user=` names the user `/login` signs in; `?retry=off` leaves the retryLink out.
 */
import { createTRPCClient, httpSubscriptionLink, retryLink } from '@trpc/client';
import { shouldRetryWithFreshCredentials, streamEndReason } from 'trpc-lanyard';
import type { SseRouter } from '../../fixtures/sseServer.js';
import type { SsePageReport } from './report.js';

declare global {
  interface Window {
    sseReport: SsePageReport;
  }
}

const report: SsePageReport = { events: [], errors: [], opens: 0, refreshes: 0 };
window.sseReport = report;

async function post(path: string, body?: unknown): Promise<void> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
}

const params = new URLSearchParams(location.search);
const user = params.get('user') ?? 'ada';
const recipe = params.get('retry') === 'off' ? [] : [retryLink<SseRouter>({ retry: ({ error }) => shouldRetryWithFreshCredentials(error) })];
await post('/login', { user });

const client = createTRPCClient<SseRouter>({
  links: [
    ...recipe,
    httpSubscriptionLink({
      url: new URL('/trpc', location.href).href,
      eventSourceOptions: async () => {
        report.opens++;
        await post('/refresh');
        report.refreshes++;
        return {};
      },
    }),
  ],
});

client.feed.subscribe(
  {},
  {
    onData: (event) => void report.events.push(event.data),
    onError: (error) => void report.errors.push({ reason: streamEndReason(error), code: error.data?.code ?? null, message: error.message }),
  },
);
