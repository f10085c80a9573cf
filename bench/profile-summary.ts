/**
 * Summarises V8 CPU profiles written by `BENCH_CPU_PROF=dir npm run bench`:
 * self time by function and by package. When the server wrote a
 * `<name>.marks.json` next to its profile, only the fan-out window
 * (first publish → all events delivered) is counted.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile>... [--top 30] [--all]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileMarks {
  /** `process.hrtime` in microseconds, the clock V8 profiles use on Linux. */
  fromUs: number;
  toUs: number;
}

function packageOf(url: string): string {
  if (url === '') return '(native / runtime)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] === 'internal' ? url.slice(5).split('/')[1] ?? '' : url.slice(5)}`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return 'trpc-lanyard src';
  if (url.includes('/bench/')) return 'bench';
  return url;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const root = url.indexOf('/work/');
  return root >= 0 ? url.slice(url.indexOf('/', root + 6) + 1) : url;
}

function table(title: string, entries: [string, number][], total: number, top: number): void {
  console.log(`\n${title}`);
  for (const [name, us] of entries.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
}

function summarise(file: string, top: number, ignoreMarks: boolean): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const marksFile = file.replace(/\.cpuprofile$/, '.marks.json');
  const marks = !ignoreMarks && existsSync(marksFile) ? (JSON.parse(readFileSync(marksFile, 'utf8')) as ProfileMarks) : undefined;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  let busy = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (marks && (at < marks.fromUs || at > marks.toUs)) continue;
    const node = nodes.get(profile.samples[i] ?? -1);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    total += delta;
    if (functionName !== '(idle)') busy += delta;
    const name = `${functionName || '(anonymous)'}${url ? `  ${shortUrl(url)}:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
    const pkg = functionName.startsWith('(') ? functionName : packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + delta);
  }
  const window = marks ? 'fan-out window only' : 'whole process';
  console.log(`\n=== ${path.basename(file)} (${window}): ${(total / 1000).toFixed(0)} ms sampled, ${((busy / Math.max(total, 1)) * 100).toFixed(0)}% busy`);
  table('self time by package', [...byPackage], total, top);
  table('self time by function', [...byFunction], total, top);
}

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const files = args.filter((arg, i) => arg.endsWith('.cpuprofile') && i !== topIndex + 1);
if (files.length === 0) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile>... [--top N] [--all]');
  process.exit(2);
}
for (const file of files) summarise(file, top, args.includes('--all'));
