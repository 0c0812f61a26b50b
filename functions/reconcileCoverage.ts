import { app, type InvocationContext } from '@azure/functions';
import { buildCoverageDependencies } from '../lib/coverage/dependencies';
import { reconcileCoverage as reconcile, type CoverageReport } from '../lib/coverage/reconcile';
import type { CoverageDependencies } from '../lib/coverage/reconcile';
import { workerConfig } from './handlers/workerConfig';

let built: Promise<{ deps: CoverageDependencies; remediate: boolean }> | undefined;

/** Reconciles continuous-export coverage on COVERAGE_SCHEDULE; off while COVERAGE_DESTINATIONS is unset. */
export async function reconcileCoverage(
  _timer: unknown,
  context: InvocationContext,
): Promise<CoverageReport | undefined> {
  const config = workerConfig().coverage;
  if (!config) {
    context.warn(
      'coverage reconciliation is off: set COVERAGE_DESTINATIONS to the Event Hub or workspace ids exports must send to',
    );
    return undefined;
  }
  if (!built) {
    built = (async () => {
      return {
        deps: await buildCoverageDependencies(config),
        remediate: config.COVERAGE_REMEDIATE,
      };
    })();
    built.catch(() => {
      built = undefined;
    });
  }
  const { deps, remediate } = await built;
  // The timer does everything the command line does only when asked: keep the state, send the Coverage
  // rows, post the alerts.
  const report = await reconcile(deps, { remediate, dryRun: false, record: true, notify: true });
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
  return report;
}

app.timer('reconcileCoverage', {
  schedule: '%COVERAGE_SCHEDULE%',
  handler: async (timer, context) => {
    await reconcileCoverage(timer, context);
  },
});
