import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startArmStandIn } from './armServer';
import { resourceGraphHandler } from './resourceGraphServer';
import { largeEstate } from './sampleEstate';

export interface ArmProcessOptions {
  subscriptions: number;
  /** Added before every Resource Manager answer. */
  latencyMs: number;
  /** Items per page of Resource Manager's lists. */
  pageSize: number;
  token: string;
  /** Added before every Resource Graph answer (a page); default latencyMs. */
  graphLatencyMs?: number;
  /** Rows per Resource Graph page; default 1000, the service's own. */
  graphPageSize?: number;
}

/** Requests answered so far, per API. */
export interface ArmProcessCalls {
  arm: number;
  graph: number;
}

/**
 * The ARM stand-in with a large generated estate, in a process of its own, so that its TLS and JSON work
 * does not share a core with the reconciler being measured. Resource Graph answers at the same address from
 * the same estate. Prints `{url}` when it listens; stops when its stdin closes.
 */
export async function startArmProcess(
  certFile: string,
  keyFile: string,
  options: ArmProcessOptions,
): Promise<{
  url: string;
  /** Resource Manager requests answered so far (Resource Graph's not counted). */
  requests(): Promise<number>;
  calls(): Promise<ArmProcessCalls>;
  stop(): Promise<void>;
}> {
  const child = spawn(process.execPath, [__filename], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ARM_CHILD: JSON.stringify({ certFile, keyFile, ...options }) },
  });
  const lines = createInterface({ input: child.stdout });
  const replies: Array<(line: string) => void> = [];
  lines.on('line', (line) => replies.shift()?.(line));
  const next = () => new Promise<string>((resolve) => replies.push(resolve));
  const { url } = JSON.parse(await next()) as { url: string };
  const calls = async () => {
    child.stdin.write('count\n');
    return JSON.parse(await next()) as ArmProcessCalls;
  };
  return {
    url,
    requests: async () => (await calls()).arm,
    calls,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

if (require.main === module && process.env.ARM_CHILD) {
  void (async () => {
    const o = JSON.parse(process.env.ARM_CHILD!) as ArmProcessOptions & { certFile: string; keyFile: string };
    const graph = resourceGraphHandler({
      token: o.token,
      resources: [],
      pageSize: o.graphPageSize ?? 1000,
      latencyMs: o.graphLatencyMs ?? o.latencyMs,
    });
    const arm = await startArmStandIn({
      cert: readFileSync(o.certFile, 'utf8'),
      key: readFileSync(o.keyFile, 'utf8'),
      estate: largeEstate(o.subscriptions),
      token: o.token,
      pageSize: o.pageSize,
      latencyMs: o.latencyMs,
      graph,
    });
    process.stdout.write(`${JSON.stringify({ url: arm.url })}\n`);
    createInterface({ input: process.stdin })
      .on('line', () =>
        process.stdout.write(
          `${JSON.stringify({ arm: arm.requests.length, graph: graph.requests.length } satisfies ArmProcessCalls)}\n`,
        ),
      )
      .on('close', () => void arm.close().then(() => process.exit(0)));
  })();
}
