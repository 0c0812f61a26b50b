import { LogsIngestionClient } from '@azure/monitor-ingestion';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { credentialFor } from '../lib/azure/credentials';
import { readBodies } from '../lib/cli/input';
import { replayCommand } from '../lib/cli/replayCommand';
import { loadDeliveryConfig } from '../lib/config';
import { buildDependencies, LOGS_GZIP_LEVEL } from '../lib/dependencies';
import { fitRow } from '../lib/fit/fit';
import { normalizeMessage, type NormalizedEvent } from '../lib/records/normalize';
import type { LogsRow } from '../lib/records/row';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { workload } from '../dev/workload';
import type { BackfillBenchResult } from './backfill';
import type { CostBenchResult } from './cost';
import { RUN_NAMES, type CoverageBenchResult, type CoverageSource } from './coverage';
import { startLocalDelivery } from './harness';

/**
 * `npm run bench`: every throughput figure of docs/performance.md measured in one run on this machine, so
 * the ratios compare like with like. The Logs Ingestion stand-in, Azurite and the ARM stand-in run in
 * processes of their own; memory and coverage are measured in child processes so nothing else counts.
 * `--coverage-only` measures the coverage reconciliations alone (step f).
 */
const program = new Command()
  .name('bench')
  .option('--events <n>', 'events in the workload', '20000')
  .option('--subscriptions <list>', 'subscriptions in the coverage estates, comma separated', '10000,100000')
  .option(
    '--coverage-arm-max <n>',
    'the largest estate also read through Resource Manager (one call per subscription: 100,000 take minutes)',
    '10000',
  )
  .option('--coverage-state <where>', "coverage state: 'memory' (a table stand-in) or 'azurite'", 'memory')
  .option('--coverage-only', 'measure the coverage reconciliations (f) alone')
  .option('--latency <ms>', "ARM and Resource Graph stand-ins' latency per call", '50')
  .option('--partitions <n>', 'Event Hub partitions replayed side by side', '4')
  .option('--backfill <n>', 'resources in the backfill from the Resource Graph stand-in (0: none)', '100000')
  .option('--json', 'print the results as one JSON object')
  .allowExcessArguments(false);

interface Step {
  name: string;
  events: number;
  megabytes: number;
  seconds: number;
  peakRssMb: number;
  /** CPU time of this process during the step (the stand-ins' own is not included). */
  cpuSeconds?: number;
  note?: string;
}

interface Target {
  name: string;
  value: number;
  target: number;
  unit: string;
  /** The value may be at most the target (default: at least); `strict`: below it. */
  atMost?: boolean;
  strict?: boolean;
}

const ENQUEUED = '2026-11-24T10:00:00.000Z';
const run = promisify(execFile);

/** Runs `work`, sampling this process's RSS (the kernel's maxRSS never goes down, so it cannot tell steps apart). */
async function timed(
  work: () => Promise<void> | void,
): Promise<{ seconds: number; peakRssMb: number; cpuSeconds: number }> {
  global.gc?.();
  const cpu = process.cpuUsage();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const start = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  clearInterval(sampler);
  const used = process.cpuUsage(cpu);
  return {
    seconds,
    peakRssMb: Math.max(peak, process.memoryUsage().rss) / 1e6,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

async function childJson<T>(script: string, args: string[]): Promise<T[]> {
  const { stdout } = await run(process.execPath, [join(__dirname, script), ...args], {
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as T);
}

const SOURCE_NAMES: Record<CoverageSource, string> = {
  resourcegraph: 'Resource Graph',
  resourcemanager: 'Resource Manager',
};

/**
 * f. Reconciliations of each estate in `--subscriptions`, read through Resource Graph (the default) and, up
 * to `--coverage-arm-max` subscriptions, through Resource Manager (the old way) for comparison; three runs
 * each (the first finding everything new, the second steady, the third a day later), each run a process of its own
 * (bench/coverage.ts). The targets are judged on the 100,000 estate through Resource Graph.
 */
async function coverageSteps(options: {
  subscriptions: string;
  coverageArmMax: string;
  coverageState: string;
  latency: string;
}): Promise<{ steps: Step[]; targets: Target[]; runs: CoverageBenchResult[] }> {
  const sizes = options.subscriptions
    .split(',')
    .map((n) => Number(n.trim()))
    .filter((n) => n > 0);
  const armMax = Number(options.coverageArmMax);
  const steps: Step[] = [];
  const runs: CoverageBenchResult[] = [];
  for (const subscriptions of sizes) {
    const sources: CoverageSource[] =
      subscriptions <= armMax ? ['resourcegraph', 'resourcemanager'] : ['resourcegraph'];
    for (const source of sources) {
      const results = await childJson<CoverageBenchResult>('coverage.js', [
        '--source',
        source,
        '--subscriptions',
        String(subscriptions),
        '--latency',
        options.latency,
        '--runs',
        '3',
        '--state',
        options.coverageState,
        '--json',
      ]);
      if (results.length !== 3) throw new Error(`the coverage benchmark printed ${results.length} runs of 3`);
      for (const r of results) {
        runs.push(r);
        steps.push({
          name: `f. coverage ${subscriptions}, ${SOURCE_NAMES[source]}, ${RUN_NAMES[r.run]}`,
          events: subscriptions,
          megabytes: 0,
          seconds: r.seconds,
          cpuSeconds: r.cpuSeconds,
          peakRssMb: r.peakRssMb,
          note:
            `${r.graphCalls} Resource Graph + ${r.armCalls} Resource Manager calls, ${r.confirmed} confirmed, ` +
            (r.tableRequests === undefined ? '' : `${r.tableRequests} table requests, `) +
            `${r.judged} judged, ${r.gaps} gaps` +
            (r.readFrom === SOURCE_NAMES[source] ? '' : `; read from ${r.readFrom}`),
        });
      }
    }
  }
  const find = (subscriptions: number, source: CoverageSource, run: number) =>
    runs.find((r) => r.subscriptions === subscriptions && r.source === source && r.run === run);
  const targets: Target[] = [];
  const small = runs.filter((r) => r.subscriptions === 10_000);
  if (small.length > 0)
    targets.push({
      name: 'f: 10,000, every run < 120 s',
      value: Math.max(...small.map((r) => r.seconds)),
      target: 120,
      unit: 's',
      atMost: true,
      strict: true,
    });
  const first = find(100_000, 'resourcegraph', 1);
  const steady = find(100_000, 'resourcegraph', 2);
  const nextDay = find(100_000, 'resourcegraph', 3);
  if (first && steady && nextDay)
    targets.push(
      {
        name: 'f: 100,000 steady < 60 s',
        value: steady.seconds,
        target: 60,
        unit: 's',
        atMost: true,
        strict: true,
      },
      {
        name: 'f: 100,000 steady ≤ 200 calls (RG + RM)',
        value: steady.graphCalls + steady.armCalls,
        target: 200,
        unit: 'calls',
        atMost: true,
      },
      ...[first, steady, nextDay].map((r) => ({
        name: `f: 100,000 ${RUN_NAMES[r.run]}, peak RSS < 500 MB`,
        value: r.peakRssMb,
        target: 500,
        unit: 'MB',
        atMost: true,
        strict: true,
      })),
    );
  return { steps, targets, runs };
}

function judge(targets: Target[]): Array<Target & { met: boolean }> {
  return targets.map((t) => ({
    ...t,
    met: t.atMost
      ? t.strict
        ? t.value < t.target
        : t.value <= t.target
      : t.strict
        ? t.value > t.target
        : t.value >= t.target,
  }));
}

/** The steps and the targets, as printed. */
function table(steps: Step[], judged: Array<Target & { met: boolean }>): string[] {
  const rate = (s: Step) => s.events / s.seconds;
  const out = [
    `${'step'.padEnd(56)} ${'events/s'.padStart(9)} ${'MB/s'.padStart(7)} ${'s'.padStart(6)} ${'CPU s'.padStart(6)} ${'peak RSS MB'.padStart(11)}  note`,
  ];
  for (const s of steps)
    out.push(
      `${s.name.padEnd(56)} ${rate(s).toFixed(0).padStart(9)} ${(s.megabytes ? (s.megabytes / s.seconds).toFixed(1) : '-').padStart(7)} ${s.seconds.toFixed(2).padStart(6)} ${(s.cpuSeconds?.toFixed(2) ?? '-').padStart(6)} ${s.peakRssMb.toFixed(0).padStart(11)}  ${s.note ?? ''}`,
    );
  out.push('', 'targets:');
  for (const t of judged) {
    const sign = t.atMost ? (t.strict ? '<' : '≤') : t.strict ? '>' : '≥';
    out.push(
      `  ${t.met ? 'met   ' : 'MISSED'} ${t.name.padEnd(44)} ${t.value.toFixed(2)} ${t.unit} (target ${sign} ${t.target.toFixed(t.unit === '×' ? 1 : 0)} ${t.unit})`,
    );
  }
  return out;
}

withTrustedCertificate(__filename, async () => {
  const options = program.parse(process.argv).opts<{
    events: string;
    subscriptions: string;
    coverageArmMax: string;
    coverageState: string;
    coverageOnly?: boolean;
    latency: string;
    partitions: string;
    backfill: string;
    json?: boolean;
  }>();
  if (options.coverageOnly) {
    const coverage = await coverageSteps(options);
    const judged = judge(coverage.targets);
    process.stdout.write(
      options.json
        ? `${JSON.stringify({ cpus: cpus().length, steps: coverage.steps, targets: judged, coverage: coverage.runs })}\n`
        : `${table(coverage.steps, judged).join('\n')}\n`,
    );
    return 0;
  }
  const count = Number(options.events);
  const local = await startLocalDelivery();
  const { standIn, env } = local;
  const dir = mkdtempSync(join(tmpdir(), 'defender-export-bench-'));
  const steps: Step[] = [];
  try {
    // The workload: the realistic mix (2 KB median, ~1% a tail of 40–300 KB alerts and findings).
    const bodies = [...workload({ count, seed: 7 })];
    const file = join(dir, 'events.ndjson');
    writeFileSync(file, `${bodies.join('\n')}\n`);
    const megabytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / 1e6;
    const accepted = async () => (await standIn.stats()).accepted;

    // a. The floor: parse, serialise and gzip (our level) the same bytes, in 1 MB chunks as the SDK sends them.
    let floorBytes = 0;
    const a = await timed(() => {
      let chunk: string[] = [];
      let size = 0;
      for (const body of bodies) {
        const text = JSON.stringify(JSON.parse(body));
        chunk.push(text);
        size += text.length;
        if (size >= 1_000_000) {
          floorBytes += gzipSync(`[${chunk.join(',')}]`, { level: LOGS_GZIP_LEVEL }).length;
          chunk = [];
          size = 0;
        }
      }
      if (chunk.length) floorBytes += gzipSync(`[${chunk.join(',')}]`, { level: LOGS_GZIP_LEVEL }).length;
    });
    steps.push({
      name: 'a. floor: JSON.parse + JSON.stringify + gzip',
      events: count,
      megabytes,
      ...a,
      note: `${(floorBytes / 1e6).toFixed(1)} MB gzipped`,
    });

    // b. What a user writes by hand: the SDK uploading rows built beforehand (the building is not timed).
    const rows: LogsRow[] = bodies.flatMap((body) =>
      normalizeMessage(body, { enqueuedTimeUtc: ENQUEUED }).events.flatMap(
        (event) => fitRow(event, { limit: 32_768, strategy: 'split', archiveBlob: '' }).rows,
      ),
    );
    const client = new LogsIngestionClient(standIn.url, credentialFor(env));
    let before = await accepted();
    const b = await timed(() => client.upload(standIn.ruleId, 'Custom-DefenderExport', rows as never));
    steps.push({
      name: 'b. bare LogsIngestionClient.upload of pre-built rows',
      events: count,
      megabytes,
      ...b,
      note: `${(await accepted()) - before} of ${rows.length} rows accepted`,
    });

    // c and d. Our pipeline: bodies in, through the Event Hub handler (replay), logs only / logs and archive.
    const replay = async (routes: unknown, source: string) => {
      const routed = { ...env, ROUTES: JSON.stringify(routes) };
      const deps = await buildDependencies(loadDeliveryConfig(routed));
      const io = { stdin: process.stdin, stdout: new PassThrough(), stderr: new PassThrough(), env: routed };
      io.stdout.resume();
      io.stderr.resume();
      before = await accepted();
      const result = await timed(async () => {
        const code = await replayCommand(
          [file],
          {
            source,
            enqueuedTime: ENQUEUED,
            batchSize: 100,
            partitions: Number(options.partitions),
            json: false,
          },
          io,
          deps,
        );
        if (code !== 0) throw new Error(`replay exited ${code}`);
      });
      return { ...result, note: `${(await accepted()) - before} rows accepted` };
    };
    steps.push({
      name: 'c. pipeline (Event Hub handler), logs',
      events: count,
      megabytes,
      ...(await replay([{ to: ['logs'] }], 'benchlogs')),
    });
    steps.push({
      name: 'd. pipeline, logs and archive (Azurite)',
      events: count,
      megabytes,
      ...(await replay([{ to: ['logs', 'archive'] }], 'benchboth')),
    });

    // e. Fit alone on the oversized tail, each strategy.
    const tail: Array<{ event: NormalizedEvent; bytes: number }> = bodies
      .filter((body) => body.length > 32_768)
      .flatMap((body) =>
        normalizeMessage(body, { enqueuedTimeUtc: ENQUEUED }).events.map((event) => ({
          event,
          bytes: Buffer.byteLength(body),
        })),
      );
    const tailMb = tail.reduce((n, t) => n + t.bytes, 0) / 1e6;
    for (const strategy of ['split', 'trim'] as const) {
      let parts = 0;
      const e = await timed(() => {
        for (let round = 0; round < 5; round++)
          for (const { event } of tail)
            parts += fitRow(event, { limit: 32_768, strategy, archiveBlob: 'x' }).rows.length;
      });
      steps.push({
        name: `e. fit alone, ${strategy}, oversized tail ×5`,
        events: tail.length * 5,
        megabytes: tailMb * 5,
        ...e,
        note: `${parts} rows`,
      });
    }

    // g. The command line's input reader on one long NDJSON line, in the 64 KiB chunks a file stream gives.
    const longLine = Buffer.from(`{"a":"${'x'.repeat(50 * 1024 * 1024)}"}\n`);
    const chunks: Buffer[] = [];
    for (let at = 0; at < longLine.length; at += 65_536) chunks.push(longLine.subarray(at, at + 65_536));
    let lineChars = 0;
    const g = await timed(async () => {
      for await (const body of readBodies(Readable.from(chunks), 'bench')) lineChars += body.text.length;
    });
    steps.push({
      name: 'g. command-line input, one 50 MB line',
      events: 1,
      megabytes: longLine.length / 1e6,
      ...g,
      note: `${lineChars} characters`,
    });

    // Memory of one batch, and f. coverage, each in a process of its own. The batches are written to files
    // here, so the memory process holds its input (as bytes, as the trigger gives it) and nothing else.
    const memoryRuns: Array<{ label: string; count: number; bytes?: number }> = [
      { label: 'one batch of 100 events of 1 MB', count: 100, bytes: 1_000_000 },
      { label: 'one batch of 1,000 events of 2 KB', count: 1000, bytes: 2_000 },
    ];
    const memory: Array<{ events: number; inputMb: number; peakRssMb: number; boundMb: number }> = [];
    for (const { label, count: events, bytes } of memoryRuns) {
      const batchFile = join(dir, `memory-${events}.ndjson`);
      writeFileSync(
        batchFile,
        `${[...workload({ count: events, ...(bytes ? { bytes } : {}), seed: 11 })].join('\n')}\n`,
      );
      const [result] = await childJson<{
        events: number;
        inputMb: number;
        seconds: number;
        cpuSeconds: number;
        peakRssMb: number;
        boundMb: number;
        delivered: boolean;
      }>('memory.js', ['--file', batchFile]);
      if (!result) throw new Error('the memory benchmark printed nothing');
      memory.push(result);
      steps.push({
        name: `memory: ${label}`,
        events: result.events,
        megabytes: result.inputMb,
        seconds: result.seconds,
        cpuSeconds: result.cpuSeconds,
        peakRssMb: result.peakRssMb,
        note: `${result.delivered ? 'all delivered' : 'NOT all delivered'}; bound ${result.boundMb.toFixed(0)} MB`,
      });
    }
    const coverage = await coverageSteps(options);
    steps.push(...coverage.steps);

    // h. A backfill from the Resource Graph stand-in (its own process, `--latency` ms per page) through the
    // pipeline, logs and archive, in a process of its own per concurrency (so each peak RSS is its own).
    const backfillResources = Number(options.backfill);
    for (const concurrency of backfillResources > 0 ? [4, 1] : []) {
      const [backfill] = await childJson<BackfillBenchResult>('backfill.js', [
        '--resources',
        String(backfillResources),
        '--subscriptions',
        '200',
        '--latency',
        options.latency,
        '--concurrency',
        String(concurrency),
        '--json',
      ]);
      if (!backfill) throw new Error('the backfill benchmark printed nothing');
      const delivered = Object.values(backfill.delivered);
      steps.push({
        name: `h. backfill, ${backfill.resources} resources, concurrency ${concurrency}`,
        events: backfill.received,
        megabytes: backfill.megabytes,
        seconds: backfill.seconds,
        cpuSeconds: backfill.cpuSeconds,
        peakRssMb: backfill.peakRssMb,
        note:
          `${backfill.pages} pages at ${backfill.latencyMs} ms, ${backfill.graphRequests} Resource Graph requests, ` +
          `${backfill.rowsAccepted} rows accepted, ` +
          (backfill.problems.length === 0 && delivered.every((n) => n === backfill.received)
            ? 'all delivered'
            : 'NOT all delivered'),
      });
    }

    // i. What Log Analytics bills for the rows over the raw events, per data type (bench/cost.ts).
    const [cost] = await childJson<CostBenchResult>('cost.js', ['--json']);
    if (!cost) throw new Error('the cost benchmark printed nothing');
    const billed = cost.results.map((r) => ({ workload: r.workload, all: r.figures.at(-1)! }));

    const rate = (s: Step) => s.events / s.seconds;
    const [sa, sb, sc, sd] = steps;
    const fitRates = steps.filter((s) => s.name.startsWith('e.')).map((s) => s.megabytes / s.seconds);
    const targets: Target[] = [
      { name: 'c ≥ 1.2 × b', value: rate(sc!) / rate(sb!), target: 1.2, unit: '×' },
      { name: 'c ≥ 0.6 × a', value: rate(sc!) / rate(sa!), target: 0.6, unit: '×' },
      { name: 'd ≥ 0.4 × a', value: rate(sd!) / rate(sa!), target: 0.4, unit: '×' },
      { name: 'e ≥ 50 MB/s', value: Math.min(...fitRates), target: 50, unit: 'MB/s' },
      ...memory.map((m) => ({
        name: `memory (${m.events} events) ≤ 3 × input + 200 MB`,
        value: m.peakRssMb,
        target: m.boundMb,
        unit: 'MB',
        atMost: true,
      })),
      ...coverage.targets,
      { name: 'g ≥ 50 MB/s', value: longLine.length / 1e6 / g.seconds, target: 50, unit: 'MB/s' },
      ...billed.map(({ workload, all }) => ({
        name: `i. billed over raw bytes, ${workload}`,
        value: all.overhead * 100,
        target: 10,
        unit: '%',
        atMost: true,
      })),
    ];
    const judged = judge(targets);

    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ events: count, megabytes, cpus: cpus().length, steps, targets: judged, coverage: coverage.runs, cost })}\n`,
      );
    } else {
      const out: string[] = [
        `workload: ${count} events, ${megabytes.toFixed(1)} MB (realistic mix, 2 KB median, ${tail.length} events over 32 KB)`,
        '',
        ...table(steps, judged),
      ];
      out.push('', 'CPU seconds per GB of input (what an instance costs):');
      for (const step of [sc!, sd!])
        out.push(
          `  ${step.name.padEnd(56)} ${((step.cpuSeconds ?? 0) / (step.megabytes / 1000)).toFixed(1)} CPU s/GB`,
        );
      out.push('', 'i. billed bytes over the raw event, per data type (docs/cost.md):');
      for (const r of cost.results)
        out.push(
          `  ${r.workload}: ` +
            r.figures.map((f) => `${f.dataType} ${(f.overhead * 100).toFixed(1)}%`).join(', '),
        );
      process.stdout.write(`${out.join('\n')}\n`);
    }
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await local.stop();
  }
});
