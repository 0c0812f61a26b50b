import { app, type InvocationContext } from '@azure/functions';
import { buildCoverageDependencies } from '../lib/coverage/dependencies';
import { reconcileCoverage as reconcile, type CoverageReport } from '../lib/coverage/reconcile';
import type { CoverageDependencies } from '../lib/coverage/reconcile';
import { AzureClients } from '../lib/azure/clients';
import { buildPipelineCheckDependencies } from '../lib/health/dependencies';
import {
  checkPipeline,
  type PipelineCheckDependencies,
  type PipelineReport,
} from '../lib/health/pipelineCheck';
import { workerConfig } from './handlers/workerConfig';

let built:
  | Promise<{ deps: CoverageDependencies; pipeline: PipelineCheckDependencies; remediate: boolean }>
  | undefined;

/**
 * Reconciles continuous-export coverage on COVERAGE_SCHEDULE, and judges the pipeline's own health in the
 * same run; off while COVERAGE_DESTINATIONS is unset.
 */
export async function reconcileCoverage(
  _timer: unknown,
  context: InvocationContext,
): Promise<{ coverage: CoverageReport; pipeline: PipelineReport } | undefined> {
  const config = workerConfig().coverage;
  const delivery = workerConfig().delivery;
  if (!config) {
    context.warn(
      'coverage reconciliation is off: set COVERAGE_DESTINATIONS to the Event Hub or workspace ids exports must send to',
    );
    return undefined;
  }
  if (!built) {
    built = (async () => {
      const clients = new AzureClients(config);
      const deps = await buildCoverageDependencies(config, { clients });
      return {
        deps,
        pipeline: buildPipelineCheckDependencies(delivery, deps, clients),
        remediate: config.COVERAGE_REMEDIATE,
      };
    })();
    built.catch(() => {
      built = undefined;
    });
  }
  const { deps, pipeline: pipelineDeps, remediate } = await built;
  // The timer does everything the command line does only when asked: keep the state, send the Coverage
  // rows, post the alerts. The pipeline's health is judged even when the reconciliation fails.
  let report: CoverageReport | undefined;
  let failure: unknown;
  try {
    report = await reconcile(deps, { remediate, dryRun: false, record: true, notify: true });
    logCoverage(report, context);
  } catch (error) {
    failure = error;
  }
  const pipeline = await checkPipeline(pipelineDeps);
  const health = JSON.stringify({ pipeline });
  if (pipeline.status === 'Broken') context.error(health);
  else if (pipeline.status === 'Degraded') context.warn(health);
  else context.info(health);
  if (!report) throw failure;
  return { coverage: report, pipeline };
}

function logCoverage(report: CoverageReport, context: InvocationContext): void {
  const { subscriptions: _all, ...summary } = report;
  const line = JSON.stringify({
    coverage: { ...summary, remediation: report.remediation.map(({ body: _b, ...change }) => change) },
  });
  // Unreachable is not a gap, but a monitor that cannot see the estate must not look healthy: every
  // subscription unreachable is an error, some a warning.
  const unreachable = report.counts.Unreachable ?? 0;
  if (unreachable > 0 && unreachable === report.subscriptions.length) context.error(line);
  else if (report.gaps > 0 || unreachable > 0) context.warn(line);
  else context.info(line);
}

app.timer('reconcileCoverage', {
  schedule: '%COVERAGE_SCHEDULE%',
  handler: async (timer, context) => {
    await reconcileCoverage(timer, context);
  },
});
