import type { ClientCallMessage, ConnectionParamsMessage, RequestId } from './messages.js';

/**
 * The `message` of each protocol error, word for word what stock tRPC says for the same fault
 * (its `parseTRPCMessage`, `parseConnectionParamsFromUnknown` and JSON encoder), so apps and
 * clients that match on it behave the same on either server. Our finer detail (which field)
 * travels separately as the error's `cause`.
 */
export const ProtocolErrorMessage = {
  notAnObject: 'Not an object',
  invalidId: 'Invalid request id',
  idRequired: '`id` is required',
  notJsonRpc2: 'Must be JSONRPC 2.0',
  invalidMethod: 'Invalid procedure type',
  notAString: 'Invalid string',
  malformedConnectionParams: 'Malformed TRPCConnectionParamsMessage',
  invalidConnectionParams: 'Invalid connection params shape',
  binaryFrame: 'jsonEncoder received binary data. JSON uses text frames. Use a binary encoder for binary data.',
} as const;

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
      /** Stock tRPC's message for the fault, one of {@link ProtocolErrorMessage}. */
      readonly message: string;
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

const notAnObject: CheckedCall = Object.freeze({
  ok: false,
  id: null,
  jsonrpc: undefined,
  message: ProtocolErrorMessage.notAnObject,
  problem: 'a message must be a JSON object',
});

/** Checks one decoded element of a client frame against the tRPC v11 request shapes. */
export function checkClientCall(raw: unknown): CheckedCall {
  if (!isRecord(raw)) return notAnObject;
  const id = readId(raw['id']);
  const jsonrpcRaw = raw['jsonrpc'];
  const jsonrpc = jsonrpcRaw === '2.0' ? '2.0' : undefined;
  const fail = (message: string, problem: string): CheckedCall => ({ ok: false, id: id ?? null, jsonrpc, message, problem });

  if (id === null) return fail(ProtocolErrorMessage.idRequired, '`id` is required');
  if (id === undefined) return fail(ProtocolErrorMessage.invalidId, '`id` must be a string or a finite number');
  if (jsonrpcRaw !== undefined && jsonrpcRaw !== '2.0') return fail(ProtocolErrorMessage.notJsonRpc2, '`jsonrpc` must be "2.0" or absent');

  const method = raw['method'];
  if (method === 'subscription.stop') {
    return { ok: true, message: { id, jsonrpc, method } };
  }
  const params = raw['params'];
  if (method === 'lanyard.authenticate') {
    if (!isRecord(params)) return fail(ProtocolErrorMessage.notAnObject, '`params` must be an object');
    const checked = checkParamsData(params['connectionParams'], 'params.connectionParams');
    if (typeof checked === 'string') return fail(ProtocolErrorMessage.invalidConnectionParams, checked);
    const answers = params['answers'];
    if (answers === undefined) return { ok: true, message: { id, method, params: { connectionParams: checked } } };
    if (typeof answers !== 'number' || !Number.isSafeInteger(answers) || answers < 0) {
      const problem = '`params.answers` must be a non-negative integer or absent';
      return fail(`Invalid message: ${problem}`, problem);
    }
    return { ok: true, message: { id, method, params: { connectionParams: checked, answers } } };
  }
  if (method === 'lanyard.grant') return checkGrant(id, params, fail);
  if (method !== 'query' && method !== 'mutation' && method !== 'subscription') {
    return fail(ProtocolErrorMessage.invalidMethod, '`method` must be "query", "mutation", "subscription" or "subscription.stop"');
  }
  if (!isRecord(params)) return fail(ProtocolErrorMessage.notAnObject, '`params` must be an object');
  const path = params['path'];
  if (typeof path !== 'string') return fail(ProtocolErrorMessage.notAString, '`params.path` must be a string');
  const lastEventId = params['lastEventId'];
  if (lastEventId !== undefined && typeof lastEventId !== 'string') {
    return fail(ProtocolErrorMessage.notAString, '`params.lastEventId` must be a string or absent');
  }
  const grant = params['grant'];
  if (grant !== undefined && (typeof grant !== 'string' || method !== 'subscription')) {
    return fail(ProtocolErrorMessage.notAString, '`params.grant` must be a string, on a subscription only, or absent');
  }
  const input = params['input'];
  return {
    ok: true,
    message: {
      id,
      jsonrpc,
      method,
      params:
        grant === undefined
          ? lastEventId === undefined
            ? { path, input }
            : { path, input, lastEventId }
          : lastEventId === undefined
            ? { path, input, grant }
            : { path, input, lastEventId, grant },
    },
  };
}

/** A `lanyard.grant` message: `params.subscription` an id, `params.token` a string, `params.answers` a non-negative integer. */
function checkGrant(id: RequestId, params: unknown, fail: (message: string, problem: string) => CheckedCall): CheckedCall {
  if (!isRecord(params)) return fail(ProtocolErrorMessage.notAnObject, '`params` must be an object');
  const subscription = readId(params['subscription']);
  if (subscription === null || subscription === undefined) {
    return fail(ProtocolErrorMessage.invalidId, '`params.subscription` must be a string or a finite number');
  }
  const token = params['token'];
  if (typeof token !== 'string') return fail(ProtocolErrorMessage.notAString, '`params.token` must be a string');
  const answers = params['answers'];
  if (typeof answers !== 'number' || !Number.isSafeInteger(answers) || answers < 0) {
    const problem = '`params.answers` must be a non-negative integer';
    return fail(`Invalid message: ${problem}`, problem);
  }
  return { ok: true, message: { id, method: 'lanyard.grant', params: { subscription, token, answers } } };
}

/** The outcome of checking a `connectionParams` frame. */
export type CheckedConnectionParams =
  | { readonly ok: true; readonly message: ConnectionParamsMessage }
  | { readonly ok: false; readonly message: string; readonly problem: string };

/**
 * Checks the first frame of a connection opened with `connectionParams=1`: an object with
 * `method: "connectionParams"` and `data` either `null` or an object of strings.
 */
export function checkConnectionParams(raw: unknown): CheckedConnectionParams {
  const malformed = ProtocolErrorMessage.malformedConnectionParams;
  if (!isRecord(raw)) return { ok: false, message: malformed, problem: 'the connectionParams message must be a JSON object' };
  if (raw['method'] !== 'connectionParams') {
    return { ok: false, message: malformed, problem: '`method` must be "connectionParams" in the first message' };
  }
  const data = checkParamsData(raw['data'], 'data');
  if (typeof data === 'string') return { ok: false, message: ProtocolErrorMessage.invalidConnectionParams, problem: data };
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
