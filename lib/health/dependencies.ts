import { AzureClients } from '../azure/clients';
import { ResourceReader } from '../azure/resources';
import type { DeliveryConfig } from '../config';
import type { CoverageDependencies } from '../coverage/reconcile';
import { BlobDeadLetterStore } from '../sinks/deadLetter';
import { BlobParkingStore } from '../sinks/parking';
import type { HeartbeatStore } from '../ports';
import { HEARTBEAT_TABLE, TableHeartbeatStore } from '../state/heartbeat';
import type { PipelineCheckDependencies } from './pipelineCheck';
import type { HealthThresholds, PipelineHealthStores } from './pipelineHealth';

/** The stores the pipeline's health is read from, and the thresholds it is judged by (doctor and timer). */
export function healthSources(
  config: DeliveryConfig,
  clients: AzureClients,
  clock: () => Date,
  options: {
    heartbeat?: HeartbeatStore;
    /** Storage tries per read (the doctor's: 1) */ tries?: number;
  } = {},
): { stores: PipelineHealthStores; thresholds: HealthThresholds } {
  const blobs = clients.blobService(
    config.archiveStorage,
    options.tries ? { maxTries: options.tries } : undefined,
  );
  const heartbeat =
    options.heartbeat ?? new TableHeartbeatStore(clients.table(config.stateStorage, HEARTBEAT_TABLE));
  return {
    stores: {
      parking: new BlobParkingStore(blobs.getContainerClient(config.PARKED_CONTAINER)),
      deadLetters: new BlobDeadLetterStore(blobs.getContainerClient(config.DEADLETTER_CONTAINER), clock),
      heartbeat,
    },
    thresholds: {
      staleAfterHours: config.COVERAGE_STALE_AFTER_HOURS,
      snapshotStaleAfterDays: config.COVERAGE_SNAPSHOT_STALE_AFTER_DAYS,
    },
  };
}

/**
 * What the timer's pipeline check needs: the delivery settings' containers, and the coverage run's
 * heartbeats, state, logs and webhook, so both judge from the same stores and alert to the same places.
 */
export function buildPipelineCheckDependencies(
  config: DeliveryConfig,
  coverage: CoverageDependencies,
  clients: AzureClients = new AzureClients(config),
): PipelineCheckDependencies {
  return {
    ...healthSources(config, clients, coverage.clock, { heartbeat: coverage.heartbeat }),
    ...(config.LOGS_DCR_RESOURCE_ID
      ? {
          rule: {
            reader: new ResourceReader(clients.credential(), config.AZURE_RESOURCE_MANAGER_ENDPOINT),
            id: config.LOGS_DCR_RESOURCE_ID,
            ...(config.LOGS_DCR_IMMUTABLE_ID ? { immutableId: config.LOGS_DCR_IMMUTABLE_ID } : {}),
            stream: config.LOGS_STREAM_NAME,
          },
        }
      : {}),
    state: coverage.state,
    ...(coverage.logs ? { logs: coverage.logs } : {}),
    ...(coverage.webhookUrl ? { webhookUrl: coverage.webhookUrl } : {}),
    reminderMs: coverage.reminderMs,
    clock: coverage.clock,
  };
}
