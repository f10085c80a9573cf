export { CloseCode, closeCodeName } from './closeCodes.js';
export * from './messages.js';
export { checkClientCall, checkConnectionParams, ProtocolErrorMessage } from './validate.js';
export type { CheckedCall, CheckedConnectionParams } from './validate.js';
export { HISTORY_GAP_CODE, HISTORY_GAP_MESSAGE_PREFIX, isHistoryGapError } from './historyGap.js';
export { isSubscriptionEndedError, SUBSCRIPTION_ENDED_REASON } from './subscriptionEnded.js';
export { GRANT_INPUT_KEY, grantErrorReason, GrantReason } from './grants.js';
export type { GrantedResult, GrantMessage, GrantRefreshRequest } from './grants.js';
export { shouldRetryWithFreshCredentials, STREAM_END_MESSAGE_PREFIX, streamEndReason, StreamEndReason } from './streamEnd.js';
