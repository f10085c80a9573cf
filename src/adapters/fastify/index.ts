export { fastifyTRPCPlugin } from './plugin.js';
export type { CreateFastifyContextOptions, FastifyTRPCOptions, FastifyTRPCPluginOptions } from './options.js';
export type { FastifyLanyardHandlers } from './handlers.js';
export { keepAliveDefaults } from '../../server/keepAlive.js';
export type { KeepAliveOptions } from '../../server/keepAlive.js';
export type { HandlerControls } from '../../server/adapterSupport.js';
