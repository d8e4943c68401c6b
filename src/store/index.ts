// The store's public surface: open, enqueue, dispatcher queue access,
// operator queries and actions, retention.

export { openStore, setStoreLimits, StoreError, DEFAULT_LIMITS } from './store.ts';
export type { Store, StoreLimits, StoreChange, StoreListener, OpenStoreOptions } from './store.ts';
export { enqueue } from './enqueue.ts';
export { recordInlineAttempts } from './inline-attempts.ts';
export type { InlineAttempt } from './inline-attempts.ts';
export type { EnqueueItem, EnqueueResult, DestinationRequests, QueuedRequest } from './enqueue.ts';
export { destinationStatus, listDeliveries, listDeadLetters, showDelivery, resolveDeliveryId, storedDestinationNames, queuedCount, destinationsWithDeadLetters, destinationOfDelivery, redeliverableIds, deliveryProgress } from './queries.ts';
export type { DestinationStatus, DeliverySummary, DeliveryDetail, DeliveryFilter, DeliveryState, DeliveryProgress } from './queries.ts';
export { redeliver, retryDeadLetters, dropDeadLetters, dropQueuedDeliveries, pauseDestination, resumeDestination, isPaused } from './operator.ts';
export type { RequeueResult, DeliveryTarget, RedeliverState } from './operator.ts';
export { findMissingDeliveries, describeMissingDeliveries, DeliveryRowsCheck } from './invariants.ts';
export type { MissingDeliveries } from './invariants.ts';
export { fileIdentity, storeFileChanged, freshStoreRefusal, readStoreMarker, writeStoreMarker, storeMarkerPath } from './store-file.ts';
export type { FileIdentity, StoreMarker } from './store-file.ts';
export { isFull, storeBytes, pruneStore, startMaintenance } from './retention.ts';
export type { PruneResult, Maintenance } from './retention.ts';
export type { AttemptRecord, QueuedDelivery } from './queue.ts';
