import type { ClientCallMessage, ConnectionParamsMessage, RequestId } from './messages.js';

/**
 * The outcome of checking one element of a client frame. A bad element keeps the id and
 * `jsonrpc` it carried when they were readable, so the server can answer that request alone
 * and still serve the rest of a batch.
 */
export type CheckedCall =
  | { readonly ok: true; readonly message: ClientCallMessage }
  | {
      readonly ok: false;
      readonly id: RequestId | null;
      readonly jsonrpc: '2.0' | undefined;
      /** Names the offending field, e.g. "`params.path` must be a string". */
      readonly problem: string;
    };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readId(value: unknown): RequestId | null | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (value === null) return null;
  return undefined;
}

/** Checks one decoded element of a client frame against the tRPC v11 request shapes. */
export function checkClientCall(raw: unknown): CheckedCall {
  if (!isRecord(raw)) {
    return { ok: false, id: null, jsonrpc: undefined, problem: 'a message must be a JSON object' };
  }
  const id = readId(raw['id']);
  const jsonrpcRaw = raw['jsonrpc'];
  const jsonrpc = jsonrpcRaw === '2.0' ? '2.0' : undefined;
  const fail = (problem: string): CheckedCall => ({ ok: false, id: id ?? null, jsonrpc, problem });

  if (raw['id'] === undefined || id === null) return fail('`id` is required');
  if (id === undefined) return fail('`id` must be a string or a finite number');
  if (jsonrpcRaw !== undefined && jsonrpcRaw !== '2.0') return fail('`jsonrpc` must be "2.0" or absent');

  const method = raw['method'];
  if (method === 'subscription.stop') {
    return { ok: true, message: { id, jsonrpc, method } };
  }
  const params = raw['params'];
  if (method === 'lanyard.authenticate') {
    if (!isRecord(params)) return fail('`params` must be an object');
    const checked = checkParamsData(params['connectionParams'], 'params.connectionParams');
    if (typeof checked === 'string') return fail(checked);
    const answers = params['answers'];
    if (answers === undefined) return { ok: true, message: { id, method, params: { connectionParams: checked } } };
    if (typeof answers !== 'number' || !Number.isSafeInteger(answers) || answers < 0) {
      return fail('`params.answers` must be a non-negative integer or absent');
    }
    return { ok: true, message: { id, method, params: { connectionParams: checked, answers } } };
  }
  if (method !== 'query' && method !== 'mutation' && method !== 'subscription') {
    return fail('`method` must be "query", "mutation", "subscription" or "subscription.stop"');
  }
  if (!isRecord(params)) return fail('`params` must be an object');
  const path = params['path'];
  if (typeof path !== 'string') return fail('`params.path` must be a string');
  const lastEventId = params['lastEventId'];
  if (lastEventId !== undefined && typeof lastEventId !== 'string') {
    return fail('`params.lastEventId` must be a string or absent');
  }
  return {
    ok: true,
    message: {
      id,
      jsonrpc,
      method,
      params: lastEventId === undefined ? { path, input: params['input'] } : { path, input: params['input'], lastEventId },
    },
  };
}

/** The outcome of checking a `connectionParams` frame. */
export type CheckedConnectionParams =
  | { readonly ok: true; readonly message: ConnectionParamsMessage }
  | { readonly ok: false; readonly problem: string };

/**
 * Checks the first frame of a connection opened with `connectionParams=1`: an object with
 * `method: "connectionParams"` and `data` either `null` or an object of strings.
 */
export function checkConnectionParams(raw: unknown): CheckedConnectionParams {
  if (!isRecord(raw)) return { ok: false, problem: 'the connectionParams message must be a JSON object' };
  if (raw['method'] !== 'connectionParams') {
    return { ok: false, problem: '`method` must be "connectionParams" in the first message' };
  }
  const data = checkParamsData(raw['data'], 'data');
  if (typeof data === 'string') return { ok: false, problem: data };
  return { ok: true, message: { method: 'connectionParams', data } };
}

/** `null`/absent, or an object of strings (a copy); else the problem, naming `field`. */
function checkParamsData(data: unknown, field: string): Record<string, string> | null | string {
  if (data === null || data === undefined) return null;
  if (!isRecord(data)) return `\`${field}\` must be an object of strings or null`;
  const out: Record<string, string> = {};
  for (const key of Object.keys(data)) {
    const value = data[key];
    if (typeof value !== 'string') return `\`${field}.${key}\` must be a string`;
    out[key] = value;
  }
  return out;
}
