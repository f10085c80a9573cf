import type { ImplName } from '../lib/config.js';
import type { BenchImpl } from './types.js';

export type { BenchImpl } from './types.js';

/** Loads one implementation; only the one asked for is imported. */
export async function loadImpl(name: ImplName): Promise<BenchImpl> {
  switch (name) {
    case 'stock':
      return (await import('./stock.js')).impl;
    case 'lanyard':
      return (await import('./lanyard.js')).impl;
  }
}
