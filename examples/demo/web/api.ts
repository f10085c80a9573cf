/** The demo's token endpoints (examples/demo/server/api.ts). The refresh token never reaches script: it is an HttpOnly cookie. */

async function post(path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json().catch(() => ({}))) as { error?: unknown };
  if (!response.ok) throw new Error(typeof json.error === 'string' ? json.error : `${path} answered ${response.status}`);
  return json;
}

function tokenOf(json: unknown): string {
  const token = (json as { token?: unknown }).token;
  if (typeof token !== 'string') throw new Error('the server sent no token');
  return token;
}

/** Signs in (the server sets the refresh cookie) and returns the first access token. */
export async function signIn(name: string): Promise<string> {
  return tokenOf(await post('/api/sign-in', { name }));
}

/** A fresh access token for the cookie's user, carrying their current role. */
export async function fetchAccessToken(): Promise<string> {
  return tokenOf(await post('/api/token'));
}

export async function signOut(): Promise<void> {
  await post('/api/sign-out');
}
