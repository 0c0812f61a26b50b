import { startArmProcess } from '../dev/armServerProcess';
import { startAzurite } from '../dev/azurite';
import { SAMPLE_HUB } from '../dev/sampleEstate';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { loadCoverageConfig } from '../lib/config';
import { buildCoverageDependencies } from '../lib/coverage/dependencies';
import { reconcileCoverage } from '../lib/coverage/reconcile';
import { numberArg, peakRssMb } from './harness';

/**
 * A reconciliation of a large estate against the ARM stand-in (its own process) with a fixed latency per
 * call, state in Azurite. `node dist/bench/coverage.js [--subscriptions 10000] [--latency 50] [--runs 2] [--json]`.
 * The first run finds every subscription new (a transition and a state write each); later ones are steady.
 */

withTrustedCertificate(__filename, async () => {
  const subscriptions = numberArg('subscriptions', 10_000);
  const latencyMs = numberArg('latency', 50);
  const arm = await startArmProcess(
    process.env.DEFENDER_EXPORT_DEV_CERT!,
    process.env.DEFENDER_EXPORT_DEV_KEY!,
    { subscriptions, latencyMs, pageSize: 100, token: 'bench' },
  );
  const azurite = await startAzurite();
  try {
    const env = {
      AzureWebJobsStorage: azurite.connectionString(),
      AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
      LOCAL_DEV_BEARER_TOKEN: 'bench',
      COVERAGE_DESTINATIONS: SAMPLE_HUB,
    };
    const config = loadCoverageConfig(env);
    const runs = numberArg('runs', 2);
    for (let run = 1; run <= runs; run++) {
      const deps = await buildCoverageDependencies(config);
      const calls = await arm.requests();
      const start = performance.now();
      const report = await reconcileCoverage(deps, { remediate: false, dryRun: false });
      const result = {
        run,
        subscriptions,
        latencyMs,
        concurrency: config.COVERAGE_CONCURRENCY,
        seconds: (performance.now() - start) / 1000,
        armCalls: (await arm.requests()) - calls,
        gaps: report.gaps,
        peakRssMb: peakRssMb(),
      };
      process.stdout.write(
        process.argv.includes('--json')
          ? `${JSON.stringify(result)}\n`
          : `run ${run}: ${subscriptions} subscriptions, ${latencyMs} ms per ARM call, concurrency ${result.concurrency}: ` +
              `${result.seconds.toFixed(1)} s, ${result.armCalls} ARM calls, ${result.gaps} gaps, peak RSS ${result.peakRssMb.toFixed(0)} MB\n`,
      );
    }
    return 0;
  } finally {
    await arm.stop();
    await azurite.stop();
  }
});
