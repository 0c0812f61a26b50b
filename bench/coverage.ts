import { fork } from 'node:child_process';
import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import { RestError } from '@azure/core-rest-pipeline';
import { startArmProcess } from '../dev/armServerProcess';
import { startAzurite, type Azurite } from '../dev/azurite';
import { SAMPLE_HUB } from '../dev/sampleEstate';
import { withTrustedCertificate } from '../dev/trustedCertificate';
import { AzureClients } from '../lib/azure/clients';
import type { StorageConnection } from '../lib/azure/connections';
import { loadCoverageConfig } from '../lib/config';
import { buildCoverageDependencies } from '../lib/coverage/dependencies';
import { reconcileCoverage } from '../lib/coverage/reconcile';
import { numberArg, peakRssMb } from './harness';

/**
 * Reconciliations of a large estate (`largeEstate`, dev/sampleEstate.ts) read through Resource Graph (the
 * default) or Resource Manager, against the ARM stand-in in a process of its own (Resource Graph answers at
 * the same address), each call answered after a fixed latency.
 *
 * `node dist/bench/coverage.js [--source resourcegraph|resourcemanager] [--subscriptions 10000]
 * [--latency 50] [--runs 3] [--state memory|azurite] [--table-latency 10] [--json]`
 *
 * The first run finds every subscription new: each is a transition (a history row) and a state write, and
 * through Resource Graph each gap is confirmed through Resource Manager first (`report.estate.confirmed`).
 * The second is steady, minutes later. The third runs with its clock 25 hours ahead (RUN_CLOCK_AHEAD_HOURS),
 * as the first run of the next day: over 18,000 subscriptions the listing through Resource Manager is due
 * again (COVERAGE_DISCOVERY_HOURS, 24), and so are the subscriptions Resource Manager refused a day ago. Each run is a process of its own (this script again, `--run`), sharing the
 * stand-ins with the others, so its peak RSS (the kernel's high-water mark) is that run's alone. The calls
 * to each API are counted by the stand-in around the run's process; building the dependencies calls neither.
 *
 * The coverage state and the heartbeats (Table storage) live, by default (`--state memory`), in a table
 * stand-in kept by this parent process and reached over the child's IPC channel, every request answered
 * after `--table-latency` ms: the tables stay out of the measured process, and out of Azurite, whose
 * in-memory tables scan the whole partition for every upsert (the state is one partition), so that 100,000
 * new records take it tens of minutes. `--state azurite` keeps the tables in Azurite, as before.
 */

export type CoverageSource = 'resourcegraph' | 'resourcemanager';
export type CoverageState = 'memory' | 'azurite';

/** Each run's name, by number. */
export const RUN_NAMES = ['', 'first', 'steady', 'next day'];
/** How far ahead the third run's clock is. */
const RUN_CLOCK_AHEAD_HOURS = 25;

export interface CoverageBenchResult {
  run: number;
  source: CoverageSource;
  state: CoverageState;
  /** Where the reconciler says it read the estate (report.estate.source). */
  readFrom: string;
  subscriptions: number;
  latencyMs: number;
  concurrency: number;
  seconds: number;
  cpuSeconds: number;
  graphCalls: number;
  armCalls: number;
  /** Requests to the table stand-in (`--state memory`); not counted in Azurite. */
  tableRequests?: number;
  /** Changed statuses read again through Resource Manager before alerting (report.estate.confirmed). */
  confirmed: number;
  /** Subscriptions judged, and those skipped as Disabled or Deleted. */
  judged: number;
  inactive: number;
  gaps: number;
  peakRssMb: number;
}

/** What a run's process prints; the parent adds what it counted. */
type RunResult = Omit<
  CoverageBenchResult,
  'graphCalls' | 'armCalls' | 'tableRequests' | 'subscriptions' | 'latencyMs'
>;

const ARM_PAGE_SIZE = 100;
/** Rows per page of a table query, as Table storage answers. */
const TABLE_PAGE = 1000;

function choice<T extends string>(name: string, values: readonly T[]): T {
  const i = process.argv.indexOf(`--${name}`);
  const value = (i > 0 ? process.argv[i + 1] : values[0])?.toLowerCase() as T;
  if (!values.includes(value)) throw new Error(`--${name} must be ${values.join(' or ')}, not ${value}`);
  return value;
}

// ---- The table stand-in: kept in the parent, asked by the run's process over IPC ------------------------

type Entity = TableEntity<Record<string, unknown>>;

type TableRequest = { id: number; table: string } & (
  | { op: 'createTable' }
  | { op: 'list'; partitionKey?: string; skip: number }
  | { op: 'transaction'; actions: TransactionAction[] }
  | { op: 'create'; entity: Entity }
  | { op: 'upsert'; entity: Entity; mode: 'Merge' | 'Replace' }
  | { op: 'get'; partitionKey: string; rowKey: string }
  | { op: 'delete'; partitionKey: string; rowKey: string }
);

interface TableReply {
  id: number;
  result?: unknown;
  error?: { status: number; message: string };
}

class TableFault extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Tables as Table storage keeps them, in this process: entities by key, listed in key order. */
class TableStandIn {
  private readonly tables = new Map<string, Map<string, Entity>>();
  private readonly sorted = new Map<string, Entity[]>();
  requests = 0;

  constructor(private readonly latencyMs: number) {}

  async answer(request: TableRequest): Promise<TableReply> {
    this.requests++;
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    try {
      return { id: request.id, result: this.apply(request) };
    } catch (error) {
      if (!(error instanceof TableFault)) throw error;
      return { id: request.id, error: { status: error.status, message: error.message } };
    }
  }

  private apply(r: TableRequest): unknown {
    const table = this.tables.get(r.table) ?? new Map<string, Entity>();
    this.tables.set(r.table, table);
    const key = (e: { partitionKey?: string; rowKey?: string }) => `${e.partitionKey}\u0000${e.rowKey}`;
    const changed = () => this.sorted.delete(r.table);
    switch (r.op) {
      case 'createTable':
        return undefined;
      case 'list': {
        let all = this.sorted.get(r.table);
        if (!all) {
          all = [...table.keys()].sort().map((k) => table.get(k)!);
          this.sorted.set(r.table, all);
        }
        const matching =
          r.partitionKey === undefined ? all : all.filter((e) => e.partitionKey === r.partitionKey);
        return {
          entities: matching.slice(r.skip, r.skip + TABLE_PAGE),
          more: r.skip + TABLE_PAGE < matching.length,
        };
      }
      case 'transaction': {
        // All or nothing, as an entity group transaction.
        for (const [kind, entity] of r.actions) {
          const exists = table.has(key(entity));
          if (kind === 'create' && exists) throw new TableFault(409, 'EntityAlreadyExists');
          if ((kind === 'delete' || kind === 'update') && !exists)
            throw new TableFault(404, 'ResourceNotFound');
        }
        for (const [kind, entity, mode] of r.actions as Array<[string, Entity, string?]>) {
          if (kind === 'delete') table.delete(key(entity));
          else if (mode === 'Merge') table.set(key(entity), { ...table.get(key(entity)), ...entity });
          else table.set(key(entity), entity);
        }
        changed();
        return undefined;
      }
      case 'create':
        if (table.has(key(r.entity))) throw new TableFault(409, 'EntityAlreadyExists');
        table.set(key(r.entity), r.entity);
        changed();
        return undefined;
      case 'upsert':
        table.set(
          key(r.entity),
          r.mode === 'Merge' ? { ...table.get(key(r.entity)), ...r.entity } : r.entity,
        );
        changed();
        return undefined;
      case 'get': {
        const found = table.get(key(r));
        if (!found) throw new TableFault(404, 'ResourceNotFound');
        return found;
      }
      case 'delete':
        if (!table.delete(key(r))) throw new TableFault(404, 'ResourceNotFound');
        changed();
        return undefined;
    }
  }
}

/** A TableClient (the part the reconciler uses) that asks the parent's TableStandIn over IPC. */
class IpcTable {
  private static next = 0;
  private static readonly pending = new Map<
    number,
    { resolve(v: unknown): void; reject(e: unknown): void }
  >();

  static listen(): void {
    process.on('message', (reply: TableReply) => {
      const waiting = IpcTable.pending.get(reply.id);
      IpcTable.pending.delete(reply.id);
      if (reply.error)
        waiting?.reject(new RestError(reply.error.message, { statusCode: reply.error.status }));
      else waiting?.resolve(reply.result);
    });
  }

  constructor(readonly tableName: string) {}

  private ask<T>(request: Record<string, unknown>): Promise<T> {
    const id = IpcTable.next++;
    return new Promise<T>((resolve, reject) => {
      IpcTable.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      process.send!({ ...request, id, table: this.tableName });
    });
  }

  createTable = () => this.ask<void>({ op: 'createTable' });
  submitTransaction = (actions: TransactionAction[]) => this.ask<void>({ op: 'transaction', actions });
  createEntity = (entity: Entity) => this.ask<void>({ op: 'create', entity });
  upsertEntity = (entity: Entity, mode: 'Merge' | 'Replace' = 'Merge') =>
    this.ask<void>({ op: 'upsert', entity, mode });
  getEntity = (partitionKey: string, rowKey: string) => this.ask<Entity>({ op: 'get', partitionKey, rowKey });
  deleteEntity = (partitionKey: string, rowKey: string) =>
    this.ask<void>({ op: 'delete', partitionKey, rowKey });

  /** Every entity, a page (1,000) per request; the one filter the stores write: `PartitionKey eq '…'`. */
  async *listEntities(options?: { queryOptions?: { filter?: string } }): AsyncGenerator<Entity> {
    const filter = options?.queryOptions?.filter;
    const match = filter === undefined ? undefined : /^PartitionKey eq '([^']*)'$/.exec(filter);
    if (filter !== undefined && !match) throw new Error(`the table stand-in cannot filter by ${filter}`);
    for (let skip = 0; ; skip += TABLE_PAGE) {
      const page = await this.ask<{ entities: Entity[]; more: boolean }>({
        op: 'list',
        skip,
        ...(match ? { partitionKey: match[1] } : {}),
      });
      yield* page.entities;
      if (!page.more) return;
    }
  }
}

/** The clients, their tables the stand-in's. */
class StandInTableClients extends AzureClients {
  override table(_connection: StorageConnection, name: string): TableClient {
    return new IpcTable(name) as unknown as TableClient;
  }
}

// ---- One run (the child), and the runs (the parent) -----------------------------------------------------

/** One reconciliation, in this process (started by the parent below with `--run`). */
async function oneRun(run: number, source: CoverageSource, state: CoverageState): Promise<RunResult> {
  const { armUrl, storage } = JSON.parse(process.env.BENCH_COVERAGE_TARGETS!) as {
    armUrl: string;
    storage?: string;
  };
  const config = loadCoverageConfig({
    // Not used with the table stand-in (its clients ignore the connection), but a setting the config needs.
    AzureWebJobsStorage: storage ?? 'table stand-in',
    AZURE_RESOURCE_MANAGER_ENDPOINT: armUrl,
    LOCAL_DEV_BEARER_TOKEN: 'bench',
    COVERAGE_DESTINATIONS: SAMPLE_HUB,
    COVERAGE_SOURCE: source,
  });
  if (state === 'memory') IpcTable.listen();
  const ahead = run >= 3 ? RUN_CLOCK_AHEAD_HOURS * 3_600_000 : 0;
  const deps = await buildCoverageDependencies(config, {
    ...(state === 'memory' ? { clients: new StandInTableClients(config) } : {}),
    clock: () => new Date(Date.now() + ahead),
  });
  const cpu = process.cpuUsage();
  const start = performance.now();
  const report = await reconcileCoverage(deps, { remediate: false, dryRun: false });
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    run,
    source,
    state,
    readFrom: report.estate.source,
    concurrency: config.COVERAGE_CONCURRENCY,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    confirmed: report.estate.confirmed,
    judged: report.subscriptions.length,
    inactive: report.inactive,
    gaps: report.gaps,
    peakRssMb: peakRssMb(),
  };
}

/** Runs this script as one run's process, answering its table requests; resolves with what it printed. */
function runProcess(args: string[], env: NodeJS.ProcessEnv, tables?: TableStandIn): Promise<RunResult> {
  const child = fork(__filename, args, {
    env,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    // Structured clone: an entity's Date stays a Date, as the Table SDK gives it back.
    serialization: 'advanced',
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.on('message', (request: TableRequest) => {
    if (!tables) return;
    void tables.answer(request).then((reply) => {
      if (child.connected) child.send(reply);
    });
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) reject(new Error(`coverage run ${args.join(' ')} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as RunResult);
    });
  });
}

withTrustedCertificate(__filename, async () => {
  const source = choice<CoverageSource>('source', ['resourcegraph', 'resourcemanager']);
  const state = choice<CoverageState>('state', ['memory', 'azurite']);
  const runArg = numberArg('run', 0);
  if (runArg > 0) {
    try {
      process.stdout.write(`${JSON.stringify(await oneRun(runArg, source, state))}\n`);
    } finally {
      process.disconnect?.(); // the IPC channel would keep this process alive
    }
    return 0;
  }

  const subscriptions = numberArg('subscriptions', 10_000);
  const latencyMs = numberArg('latency', 50);
  const runs = numberArg('runs', 3);
  const arm = await startArmProcess(
    process.env.DEFENDER_EXPORT_DEV_CERT!,
    process.env.DEFENDER_EXPORT_DEV_KEY!,
    // The stand-in's front (dev/armServer.ts) waits latencyMs before every request it answers, Resource
    // Graph's too, before the Resource Graph handler adds graphLatencyMs: 0 here, so that a page, like every
    // Resource Manager call, waits latencyMs in all.
    { subscriptions, latencyMs, pageSize: ARM_PAGE_SIZE, token: 'bench', graphLatencyMs: 0 },
  );
  let azurite: Azurite | undefined;
  try {
    azurite = state === 'azurite' ? await startAzurite() : undefined;
    const tables = state === 'memory' ? new TableStandIn(numberArg('table-latency', 10)) : undefined;
    const targets = JSON.stringify({
      armUrl: arm.url,
      ...(azurite ? { storage: azurite.connectionString() } : {}),
    });
    for (let run = 1; run <= runs; run++) {
      const before = await arm.calls();
      const tableRequests = tables?.requests ?? 0;
      const child = await runProcess(
        ['--run', String(run), '--source', source, '--state', state],
        { ...process.env, BENCH_COVERAGE_TARGETS: targets },
        tables,
      );
      const after = await arm.calls();
      const result: CoverageBenchResult = {
        ...child,
        subscriptions,
        latencyMs,
        graphCalls: after.graph - before.graph,
        armCalls: after.arm - before.arm,
        ...(tables ? { tableRequests: tables.requests - tableRequests } : {}),
      };
      process.stdout.write(
        process.argv.includes('--json')
          ? `${JSON.stringify(result)}\n`
          : `run ${run} (${RUN_NAMES[run] ?? 'steady'}): ${subscriptions} subscriptions from ${result.readFrom}, ` +
              `${latencyMs} ms per call, concurrency ${result.concurrency}, state in ${state}: ` +
              `${result.seconds.toFixed(1)} s (CPU ${result.cpuSeconds.toFixed(1)} s), ` +
              `${result.graphCalls} Resource Graph calls, ${result.armCalls} Resource Manager calls` +
              (result.tableRequests === undefined ? '' : `, ${result.tableRequests} table requests`) +
              `, ${result.confirmed} confirmed, ${result.judged} judged (${result.inactive} inactive), ` +
              `${result.gaps} gaps, peak RSS ${result.peakRssMb.toFixed(0)} MB\n`,
      );
    }
    return 0;
  } finally {
    await arm.stop();
    await azurite?.stop();
  }
});
