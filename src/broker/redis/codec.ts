/**
 * Event payloads as stored in Redis: JSON, serialised once per publish and parsed once per node (live)
 * or once per replayed entry. `undefined` is stored as the empty string, which JSON never produces.
 */
export function encodePayload(data: unknown): string {
  if (data === undefined) return '';
  const json = JSON.stringify(data) as string | undefined;
  if (json === undefined) throw new TypeError('trpc-lanyard/broker: data must be JSON-serialisable');
  return json;
}

export function decodePayload(payload: string): unknown {
  return payload === '' ? undefined : JSON.parse(payload);
}
