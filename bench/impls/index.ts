import type { ClientImpl, ServerImpl } from './types.js';

export type { ClientImpl, ServerImpl } from './types.js';

/** Loads one tRPC implementation's server side; only the one asked for is imported. */
export async function loadServerImpl(name: 'stock' | 'lanyard'): Promise<ServerImpl> {
  return name === 'stock' ? (await import('./stock.js')).server : (await import('./lanyard.js')).server;
}

/** Loads one tRPC implementation's client side; only the one asked for is imported. */
export async function loadClientImpl(name: 'stock' | 'lanyard'): Promise<ClientImpl> {
  return name === 'stock' ? (await import('./stock.js')).client : (await import('./lanyard.js')).client;
}
