import { app, type InvocationContext } from '@azure/functions';
import { AzureClients } from '../lib/azure/clients';
import type { BackfillDependencies } from '../lib/backfill/backfill';
import { backfillSubscriptions, buildBackfillDependencies } from '../lib/backfill/dependencies';
import {
  runScheduledBackfill,
  scheduledSummary,
  TIMER_BUDGET_MS,
  type ScheduledBackfillReport,
} from '../lib/backfill/scheduled';
import { workerConfig } from './handlers/workerConfig';
import { workerDependencies } from './handlers/workerDependencies';

let built: Promise<{ deps: BackfillDependencies; clients: AzureClients }> | undefined;

/**
 * On BACKFILL_SCHEDULE: the current Defender state once after deployment (BACKFILL_ON_DEPLOY), then each
 * subscription whose coverage gap closed (BACKFILL_AFTER_RECOVERY), within the function's time limit; the
 * next run resumes where this one stopped.
 */
export async function backfill(
  _timer: unknown,
  context: InvocationContext,
): Promise<ScheduledBackfillReport> {
  const config = workerConfig().delivery;
  if (!built) {
    built = (async () => {
      const clients = new AzureClients(config);
      const pipeline = await workerDependencies();
      return { deps: await buildBackfillDependencies(config, { clients, pipeline }), clients };
    })();
    built.catch(() => {
      built = undefined;
    });
  }
  const { deps, clients } = await built;
  const report = await runScheduledBackfill(deps, {
    onDeploy: config.BACKFILL_ON_DEPLOY,
    scope: () => backfillSubscriptions(config, undefined, clients),
    deadline: deps.clock().getTime() + TIMER_BUDGET_MS,
  });
  const summary = scheduledSummary(report);
  const line = JSON.stringify({ backfill: summary });
  if (summary.problems.length > 0) context.error(line);
  else context.info(line);
  return report;
}

app.timer('backfill', {
  schedule: '%BACKFILL_SCHEDULE%',
  handler: async (timer, context) => {
    await backfill(timer, context);
  },
});
