import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { resourceGraphHandler } from '../dev/resourceGraphServer';
import { generatedSecurityResources, generatedSubscriptionIds } from '../dev/sampleSecurityResources';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { runBackfill } from '../lib/backfill/backfill';
import { buildBackfillDependencies } from '../lib/backfill/dependencies';
import { BACKFILL_DATA_TYPES } from '../lib/backfill/mapping';
import { loadDeliveryConfig } from '../lib/config';
import { numberArg, peakRssMb, startLocalDelivery } from './harness';

/**
 * A backfill of a large estate: `--resources` generated security resources (dev/sampleSecurityResources.ts,
 * about 1.9 KB of properties each) over `--subscriptions` subscriptions, read from the Resource Graph
 * stand-in answering every page after `--latency` ms (1,000 rows a page, the service's cap), through the
 * pipeline with the default routes (logs and archive) to the Logs Ingestion stand-in and Azurite, with
 * `--concurrency` units read at once. Resource Graph, the Logs Ingestion stand-in and Azurite each run in a
 * process of their own, so this process is the backfill alone and its peak RSS (the kernel's high-water
 * mark) is the run's: one run per process. Prints one line, or one JSON line with `--json`.
 *
 * `node dist/bench/backfill.js [--resources 100000] [--subscriptions 200] [--latency 50] [--concurrency 4] [--json]`
 */

interface GraphChild {
  url: string;
  /** Rows in the stand-in's table. */
  resources: number;
  /** Requests answered and bytes of their bodies, so far. */
  counts(): Promise<{ requests: number; bytes: number }>;
  stop(): Promise<void>;
}

/** The Resource Graph stand-in with the generated estate, in a process of its own (this script, GRAPH_CHILD). */
async function startGraphProcess(options: {
  resources: number;
  subscriptions: number;
  latencyMs: number;
  token: string;
}): Promise<GraphChild> {
  const child = spawn(process.execPath, [__filename], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, GRAPH_CHILD: JSON.stringify(options) },
  });
  const replies: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => replies.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      replies.push(resolve);
      child.once('exit', (code) => reject(new Error(`the Resource Graph stand-in exited with ${code}`)));
    });
  const ready = JSON.parse(await next()) as { url: string; resources: number };
  return {
    ...ready,
    counts: async () => {
      child.stdin.write('count\n');
      return JSON.parse(await next()) as { requests: number; bytes: number };
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

async function graphChild(): Promise<void> {
  const o = JSON.parse(process.env.GRAPH_CHILD!) as {
    resources: number;
    subscriptions: number;
    latencyMs: number;
    token: string;
  };
  const graph = resourceGraphHandler({
    token: o.token,
    resources: [...generatedSecurityResources(o.resources, o.subscriptions)],
    pageSize: 1000,
    latencyMs: o.latencyMs,
  });
  // The handler answers with one `end(json)`: counting there gives the bytes the backfill reads.
  let bytes = 0;
  const server = createServer(
    {
      cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
      key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
    },
    (req, res) => {
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        if (typeof args[0] === 'string' || Buffer.isBuffer(args[0])) bytes += Buffer.byteLength(args[0]);
        return end(...args);
      }) as typeof res.end;
      graph.handle(req, res);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.stdout.write(`${JSON.stringify({ url, resources: graph.resources.length })}\n`);
  createInterface({ input: process.stdin })
    .on('line', () => process.stdout.write(`${JSON.stringify({ requests: graph.requests.length, bytes })}\n`))
    .on('close', () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
}

/** CPU time of every core of the machine, busy and in all (ms). */
function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    total += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { busy, total };
}

/**
 * CPU seconds used so far by this process's children (the stand-ins and Azurite), from /proc (Linux; 0
 * elsewhere). Their own children are not counted.
 */
function childrenCpuSeconds(): number {
  let ticks = 0;
  try {
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        // pid (comm) state ppid … utime(14) stime(15): the fields after the command's closing parenthesis.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) === process.pid) ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // gone since the listing
      }
    }
  } catch {
    return 0;
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

export interface BackfillBenchResult {
  resources: number;
  subscriptions: number;
  latencyMs: number;
  concurrency: number;
  /** Bytes of Resource Graph's answers, in MB. */
  megabytes: number;
  seconds: number;
  /** CPU time of this process during the run (the stand-ins' own is not included). */
  cpuSeconds: number;
  eventsPerSecond: number;
  graphRequests: number;
  pages: number;
  /** Time spent waiting for Resource Graph pages, summed over the units (they wait side by side). */
  graphWaitSeconds: number;
  /** How busy this process's event loop was during the run (0–1). */
  eventLoopUtilization: number;
  /** How busy the machine's cores were during the run, every process included (0–1). */
  machineBusy: number;
  /** CPU time of the stand-ins and Azurite during the run (Linux only). */
  standInCpuSeconds: number;
  received: number;
  delivered: Record<string, number>;
  /** Rows the Logs Ingestion stand-in accepted (more than events when an event is split). */
  rowsAccepted: number;
  problems: string[];
  peakRssMb: number;
}

if (require.main === module && process.env.GRAPH_CHILD) {
  void graphChild();
} else if (require.main === module) {
  withTrustedCertificate(__filename, async () => {
    const resources = numberArg('resources', 100_000);
    const subscriptions = numberArg('subscriptions', 200);
    const latencyMs = numberArg('latency', 50);
    const concurrency = numberArg('concurrency', 4);
    const local = await startLocalDelivery();
    const graph = await startGraphProcess({
      resources,
      subscriptions,
      latencyMs,
      token: local.standIn.token,
    });
    try {
      const env = { ...local.env, AZURE_RESOURCE_MANAGER_ENDPOINT: graph.url };
      const deps = await buildBackfillDependencies(loadDeliveryConfig(env), { concurrency });
      // Each page's wait, from the request to its parsed answer (the 50 ms, the stand-in's serialising, the
      // transfer and the client's parsing): what the units spend not in the pipeline.
      let graphWaitMs = 0;
      const source = deps.graph;
      deps.graph = {
        page: async (...args) => {
          const at = performance.now();
          try {
            return await source.page(...args);
          } finally {
            graphWaitMs += performance.now() - at;
          }
        },
      };
      const before = await graph.counts();
      const acceptedBefore = (await local.standIn.stats()).accepted;
      const cpu = process.cpuUsage();
      const machine = machineTimes();
      const standInCpu = childrenCpuSeconds();
      const elu = performance.eventLoopUtilization();
      const start = performance.now();
      const report = await runBackfill(deps, {
        dataTypes: [...BACKFILL_DATA_TYPES],
        subscriptions: generatedSubscriptionIds(subscriptions),
        dryRun: false,
      });
      const seconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      const loop = performance.eventLoopUtilization(elu).utilization;
      const after = machineTimes();
      const standInCpuSeconds = childrenCpuSeconds() - standInCpu;
      const { ledger } = report;
      const answered = await graph.counts();
      const result: BackfillBenchResult = {
        resources: graph.resources,
        subscriptions,
        latencyMs,
        concurrency,
        megabytes: (answered.bytes - before.bytes) / 1e6,
        seconds,
        cpuSeconds: (used.user + used.system) / 1e6,
        eventsPerSecond: ledger.received / seconds,
        graphRequests: answered.requests - before.requests,
        pages: report.pages,
        graphWaitSeconds: graphWaitMs / 1000,
        eventLoopUtilization: loop,
        machineBusy: (after.busy - machine.busy) / (after.total - machine.total),
        standInCpuSeconds,
        received: ledger.received,
        delivered: Object.fromEntries(Object.entries(ledger.destinations).map(([k, d]) => [k, d.delivered])),
        rowsAccepted: (await local.standIn.stats()).accepted - acceptedBefore,
        problems: ledger.problems,
        peakRssMb: peakRssMb(),
      };
      const r = result;
      const text = [
        `backfill: ${r.resources} resources over ${subscriptions} subscriptions in Resource Graph, ` +
          `${latencyMs} ms per page, concurrency ${concurrency}`,
        `  ${r.seconds.toFixed(1)} s, ${r.received} events, ${r.eventsPerSecond.toFixed(0)} events/s, ` +
          `${r.megabytes.toFixed(1)} MB of Resource Graph answers (${(r.megabytes / r.seconds).toFixed(1)} MB/s)`,
        `  ${r.graphRequests} Resource Graph requests, ${r.pages} pages; waiting for pages ` +
          `${r.graphWaitSeconds.toFixed(1)} s (summed over units)`,
        `  CPU ${r.cpuSeconds.toFixed(1)} s here, ${r.standInCpuSeconds.toFixed(1)} s in the stand-ins and Azurite; ` +
          `event loop ${(100 * r.eventLoopUtilization).toFixed(0)}% busy, machine ${(100 * r.machineBusy).toFixed(0)}% busy`,
        `  delivered ${Object.entries(r.delivered)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}; ${r.rowsAccepted} rows accepted; peak RSS ${r.peakRssMb.toFixed(0)} MB`,
        ...(r.problems.length ? [`  PROBLEMS: ${r.problems.join('; ')}`] : []),
      ];
      process.stdout.write(
        process.argv.includes('--json') ? `${JSON.stringify(r)}\n` : `${text.join('\n')}\n`,
      );
      const all = Object.values(result.delivered);
      return result.problems.length === 0 && all.length > 0 && all.every((n) => n === result.received)
        ? 0
        : 1;
    } finally {
      await graph.stop();
      await local.stop();
    }
  });
}
