import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startArmStandIn } from './armServer';
import { largeEstate } from './sampleEstate';

/**
 * The ARM stand-in with a large generated estate, in a process of its own, so that its TLS and JSON work
 * does not share a core with the reconciler being measured. Prints `{url}` when it listens; stops when its
 * stdin closes.
 */
export async function startArmProcess(
  certFile: string,
  keyFile: string,
  options: { subscriptions: number; latencyMs: number; pageSize: number; token: string },
): Promise<{ url: string; requests(): Promise<number>; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [__filename], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ARM_CHILD: JSON.stringify({ certFile, keyFile, ...options }) },
  });
  const lines = createInterface({ input: child.stdout });
  const replies: Array<(line: string) => void> = [];
  lines.on('line', (line) => replies.shift()?.(line));
  const next = () => new Promise<string>((resolve) => replies.push(resolve));
  const { url } = JSON.parse(await next()) as { url: string };
  return {
    url,
    requests: async () => {
      child.stdin.write('count\n');
      return Number(await next());
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

if (require.main === module && process.env.ARM_CHILD) {
  void (async () => {
    const o = JSON.parse(process.env.ARM_CHILD!) as {
      certFile: string;
      keyFile: string;
      subscriptions: number;
      latencyMs: number;
      pageSize: number;
      token: string;
    };
    const arm = await startArmStandIn({
      cert: readFileSync(o.certFile, 'utf8'),
      key: readFileSync(o.keyFile, 'utf8'),
      estate: largeEstate(o.subscriptions),
      token: o.token,
      pageSize: o.pageSize,
      latencyMs: o.latencyMs,
    });
    process.stdout.write(`${JSON.stringify({ url: arm.url })}\n`);
    createInterface({ input: process.stdin })
      .on('line', () => process.stdout.write(`${arm.requests.length}\n`))
      .on('close', () => void arm.close().then(() => process.exit(0)));
  })();
}
