import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/protocol/index.ts',
    server: 'src/server/index.ts',
    client: 'src/client/index.ts',
    broker: 'src/broker/index.ts',
    uws: 'src/adapters/uws/index.ts',
    fastify: 'src/adapters/fastify/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['@trpc/server', '@trpc/client', 'ws', 'redis', 'ioredis', 'fastify', '@fastify/websocket'],
});
