/**
 * Starting and stopping the two child processes of one run, with optional CPU profiles.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from './child.js';
import type { BenchConfig } from './config.js';
import type { LoadCommand, LoadReply, ServerCommand, ServerReply } from './messages.js';
import type { Variant } from './plan.js';

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const rootDir = path.resolve(benchDir, '..');

export type Server = Child<ServerCommand, ServerReply>;
export type Load = Child<LoadCommand, LoadReply>;

/**
 * `--cpu-prof` writes one profile per thread (tsx's loader hooks run in a
 * worker), so each child profiles into its own directory and
 * `collectProfile` keeps the main thread's profile (thread id 0).
 */
function profileArgs(config: BenchConfig, label: string): string[] {
  if (config.cpuProfDir === undefined) return [];
  return ['--cpu-prof', '--cpu-prof-dir', path.join(config.cpuProfDir, `${label}.tmp`)];
}

function collectProfile(config: BenchConfig, label: string): void {
  if (config.cpuProfDir === undefined) return;
  const dir = path.join(config.cpuProfDir, `${label}.tmp`);
  if (!existsSync(dir)) return;
  // Default names are CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile.
  const main = readdirSync(dir).find((file) => file.split('.')[4] === '0');
  if (main !== undefined) renameSync(path.join(dir, main), path.join(config.cpuProfDir, `${label}.cpuprofile`));
  rmSync(dir, { recursive: true, force: true });
}

function profileEnv(config: BenchConfig, label: string): Record<string, string> {
  if (config.cpuProfDir === undefined) return {};
  return { BENCH_PROFILE_MARKS: path.join(config.cpuProfDir, `${label}.marks.json`) };
}

/** The processes of one run; `stop()` ends both and collects their profiles. */
export class RunProcesses {
  server: Server | undefined;
  load: Load | undefined;

  constructor(
    private readonly config: BenchConfig,
    private readonly variant: Variant,
    private readonly label: string,
  ) {}

  /** Starts the server (`auth`: token check on) and returns its URL. */
  async startServer(auth = false): Promise<string> {
    const name = `server-${this.label}`;
    this.server = new Child({
      name: `server(${this.variant.server})`,
      script: path.join(benchDir, 'server.ts'),
      cwd: rootDir,
      env: {
        BENCH_SERVER: this.variant.server,
        BENCH_SOURCE: this.variant.source,
        BENCH_AUTH: auth ? '1' : '0',
        ...profileEnv(this.config, name),
      },
      nodeArgs: ['--expose-gc', ...profileArgs(this.config, name)],
    });
    const { port } = await this.server.waitFor('ready', 30_000);
    return `ws://127.0.0.1:${port}`;
  }

  async startLoad(): Promise<Load> {
    const name = `load-${this.label}`;
    const load: Load = new Child({
      name: `load(${this.variant.client})`,
      script: path.join(benchDir, 'load.ts'),
      cwd: rootDir,
      env: { BENCH_CLIENT: this.variant.client, ...profileEnv(this.config, name) },
      nodeArgs: profileArgs(this.config, name),
    });
    this.load = load;
    await load.waitFor('ready', 30_000);
    return load;
  }

  requireServer(): Server {
    if (this.server === undefined) throw new Error('server not started');
    return this.server;
  }

  async stop(): Promise<void> {
    await this.load?.stop({ type: 'stop' });
    await this.server?.stop({ type: 'stop' });
    collectProfile(this.config, `load-${this.label}`);
    collectProfile(this.config, `server-${this.label}`);
  }
}
