import { AzureClients } from '../azure/clients';
import { checkAccess } from '../azure/preflight';
import type { DeliveryConfig } from '../config';
import { EstateReader, INACTIVE_STATES } from '../coverage/estate';
import { buildDependencies, preflightOptions, type DependencyOptions } from '../dependencies';
import { BACKFILL_TABLE, BackfillStateStore } from '../state/backfillState';
import type { PipelineDependencies } from '../pipeline';
import type { BackfillDependencies, GraphSource } from './backfill';
import { AzureResourceGraph } from '../azure/resourceGraph';

export interface BackfillDependencyOptions extends DependencyOptions {
  /** Units read at once (default 4). */
  concurrency?: number;
  /** Resource Graph, when a test brings its own. */
  graph?: GraphSource;
  /** The pipeline, when the caller has one (a Functions worker shares its Event Hub functions'). */
  pipeline?: PipelineDependencies;
}

/**
 * Everything a backfill needs, from the delivery settings: the pipeline (as `replay` builds it), the
 * backfill state table, and Resource Graph at AZURE_RESOURCE_MANAGER_ENDPOINT with the app's credential.
 */
export async function buildBackfillDependencies(
  config: DeliveryConfig,
  options: BackfillDependencyOptions = {},
): Promise<BackfillDependencies> {
  const clients = options.clients ?? new AzureClients(config);
  const arm = config.AZURE_RESOURCE_MANAGER_ENDPOINT.replace(/\/+$/, '');
  const preflight = preflightOptions(options.preflight);
  if (preflight) {
    await checkAccess(
      [
        {
          setting: 'AZURE_RESOURCE_MANAGER_ENDPOINT',
          url: arm,
          purpose: 'reading Defender state from Resource Graph',
          token: {
            credential: clients.credential(),
            scope: `${arm}/.default`,
            role: 'Security Reader on the subscriptions or their management group (infra/coverage-access.bicep grants it)',
            identitySetting: 'AZURE_CLIENT_ID',
          },
        },
      ],
      preflight,
    );
  }
  const pipeline = options.pipeline ?? (await buildDependencies(config, { ...options, clients }));
  const state = new BackfillStateStore(clients.table(config.stateStorage, BACKFILL_TABLE));
  return {
    graph: options.graph ?? new AzureResourceGraph(clients.credential(), arm),
    pipeline,
    state,
    clock: pipeline.clock,
    concurrency: options.concurrency ?? 4,
  };
}

/**
 * The subscriptions to backfill: those given, else COVERAGE_SCOPE, else every active one the identity can
 * list (the coverage reconciler's reader).
 */
export async function backfillSubscriptions(
  config: DeliveryConfig,
  given: readonly string[] | undefined,
  clients: AzureClients = new AzureClients(config),
): Promise<string[]> {
  if (given?.length) return [...given];
  if (config.COVERAGE_SCOPE?.length) return [...config.COVERAGE_SCOPE];
  const reader = new EstateReader(clients.resourceManager(config.AZURE_RESOURCE_MANAGER_ENDPOINT));
  const found: string[] = [];
  for await (const s of reader.subscriptions()) {
    if (!INACTIVE_STATES.has(s.state.toLowerCase()) && s.state !== 'Unreachable')
      found.push(s.subscriptionId);
  }
  return found;
}
