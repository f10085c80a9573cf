export type {
  Broker,
  BrokerOptions,
  HistoryGap,
  HistoryGapReason,
  PublishOptions,
  StreamOptions,
} from './types.js';
export { brokerDefaults, resolveBrokerOptions } from './types.js';
export { formatEventId, isValidEpoch, parseEventId } from './eventId.js';
export type { EventPosition } from './eventId.js';
export {
  BROKER_CLOSED_MESSAGE_PREFIX,
  BrokerClosedError,
  HistoryGapError,
  MALFORMED_EVENT_ID_MESSAGE_PREFIX,
  MalformedEventIdError,
} from './errors.js';
export { HISTORY_GAP_CODE, HISTORY_GAP_MESSAGE_PREFIX, isHistoryGapError } from '../protocol/historyGap.js';
export { createMemoryBroker } from './memory.js';
export type { MemoryBroker } from './memory.js';
export * from './redis/index.js';
export { clusterControlDefaults, createClusterControl } from './control/clusterControl.js';
export type { ClusterControl, ClusterControlOptions, ClusterResult, ClusterRevokeOptions, SessionKeyTarget } from './control/clusterControl.js';
export { endSubscriptionsDefaults } from './control/subscriptionTarget.js';
export type { EndSubscriptionsOptions, SubscriptionTarget } from './control/subscriptionTarget.js';
export { createMemoryControlBus } from './control/memory.js';
export type {
  ControlBus,
  ControlCommand,
  ControlEnvelope,
  ControlMembership,
  ControlNode,
  ControlReply,
  RevocationRecord,
} from './control/types.js';
