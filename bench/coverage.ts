import { startArmProcess } from '../dev/armServerProcess';
import { startAzurite } from '../dev/azurite';
import { SAMPLE_HUB } from '../dev/sampleEstate';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { loadConfig } from '../lib/config';
import { buildCoverageDependencies } from '../lib/coverage/dependencies';
import { reconcileCoverage } from '../lib/coverage/reconcile';

/**
 * A reconciliation of a large estate against the ARM stand-in (its own process) with a fixed latency per
 * call, state in Azurite. `node dist/bench/coverage.js [--subscriptions 10000] [--latency 50]`. Two runs: the
 * first (every subscription new: a transition and a state write each) and a steady one.
 */
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

withTrustedCertificate(__filename, async () => {
  const subscriptions = arg('subscriptions', 10_000);
  const latencyMs = arg('latency', 50);
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
    const config = loadConfig(env, { delivery: false, coverage: true });
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    for (const run of ['first run', 'second run']) {
      const deps = await buildCoverageDependencies(config, env);
      const calls = await arm.requests();
      const start = performance.now();
      const report = await reconcileCoverage(deps, { remediate: false, dryRun: false });
      const seconds = (performance.now() - start) / 1000;
      process.stdout.write(
        `${run}: ${subscriptions} subscriptions, ${latencyMs} ms per ARM call, concurrency ${config.COVERAGE_CONCURRENCY}: ` +
          `${seconds.toFixed(1)} s, ${(await arm.requests()) - calls} ARM calls, ${report.gaps} gaps, peak RSS ${(peakRss / 1e6).toFixed(0)} MB\n`,
      );
    }
    clearInterval(sampler);
    return 0;
  } finally {
    await arm.stop();
    await azurite.stop();
  }
});
