import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions } from 'vite';

/** The web app's sources. */
export const webRoot = fileURLToPath(new URL('./web/', import.meta.url));
/** Where `npm start` builds it (git-ignored). */
export const defaultOutDir = fileURLToPath(new URL('./web/dist/', import.meta.url));

/**
 * Builds the web app with Vite into `outDir`. Inside this repository `trpc-lanyard/client`
 * resolves to `src/` through the `@trpc-lanyard/source` export condition; an app that
 * installed the package from npm needs no such setting.
 */
export async function buildWeb(outDir: string = defaultOutDir): Promise<void> {
  await build({
    configFile: false,
    root: webRoot,
    logLevel: 'warn',
    mode: 'production',
    // React's production build even when NODE_ENV says otherwise (vitest sets it to 'test').
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    resolve: { conditions: ['@trpc-lanyard/source', ...defaultClientConditions] },
    oxc: { jsx: { runtime: 'automatic', development: false } },
    build: {
      outDir,
      emptyOutDir: true,
      sourcemap: true,
      chunkSizeWarningLimit: 1_000,
      rolldownOptions: {
        // TanStack Query marks its modules "use client" (for React Server Components); harmless here.
        onwarn: (warning, warn) => {
          if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
        },
      },
    },
  });
}
