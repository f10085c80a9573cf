import { loadImpl } from '../impls/index.js';
import type { BenchImpl } from '../impls/index.js';
import { IMPL_NAMES } from './config.js';
import type { ImplName } from './config.js';

/** The implementation a child process was started for (BENCH_IMPL). */
export async function impl(): Promise<BenchImpl> {
  const name = process.env['BENCH_IMPL'];
  if (!(IMPL_NAMES as readonly (string | undefined)[]).includes(name)) {
    throw new Error(`BENCH_IMPL must be one of ${IMPL_NAMES.join(', ')}, got ${String(name)}`);
  }
  return loadImpl(name as ImplName);
}
