import type { EventHubFunctionOptions } from '@azure/functions';

/**
 * An Event Hub function that takes its messages as bytes (`dataType: binary`, which the v4 library passes
 * through to the binding but does not type). Without it the host binds a `cardinality: many` batch as JSON
 * and fails the whole batch, before our code runs, on the first body that is not JSON
 * (Azure/azure-functions-eventhubs-extension#118); with it every body reaches the pipeline, which
 * dead-letters the bad ones with a reason, and bodies are never held as two-byte strings.
 */
export function withBinaryBodies(options: EventHubFunctionOptions): EventHubFunctionOptions {
  return { ...options, dataType: 'binary' } as EventHubFunctionOptions;
}
