/**
 * Drop-in at the import line: every value stock tRPC's WebSocket adapter module exports is exported
 * by `trpc-lanyard/server` too, so moving `import { … } from '@trpc/server/adapters/ws'` to ours
 * never leaves a name behind; the same for the client's WebSocket pieces.
 */
import * as stockClient from '@trpc/client';
import * as stockWs from '@trpc/server/adapters/ws';
import { describe, expect, it } from 'vitest';
import * as ourClient from '../../src/client/index.js';
import * as ourServer from '../../src/server/index.js';

describe('the import line', () => {
  it('trpc-lanyard/server exports every value @trpc/server/adapters/ws does', () => {
    const missing = Object.keys(stockWs).filter((name) => !(name in ourServer));
    expect(missing).toEqual([]);
  });

  it('trpc-lanyard/client exports the WebSocket values of @trpc/client', () => {
    const webSocketNames = Object.keys(stockClient).filter((name) => /ws|websocket/i.test(name));
    expect(webSocketNames.length).toBeGreaterThan(1);
    const missing = webSocketNames.filter((name) => !(name in ourClient));
    expect(missing).toEqual([]);
  });
});
