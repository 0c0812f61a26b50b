import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { startLogsIngestionStandIn } from './logsIngestionServer';

/**
 * The Logs Ingestion stand-in in a process of its own, so that on a small machine its gunzip and JSON
 * parsing do not share a core with what is being measured. The child prints one JSON line
 * `{url, ruleId, token}` when it listens and stops when its stdin closes.
 */
export interface StandInProcess {
  url: string;
  ruleId: string;
  token: string;
  stats(): Promise<{ accepted: number; requests: number }>;
  stop(): Promise<void>;
}

export async function startStandInProcess(certFile: string, keyFile: string): Promise<StandInProcess> {
  const child = spawn(process.execPath, [__filename], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      DEFENDER_EXPORT_DEV_CERT: certFile,
      DEFENDER_EXPORT_DEV_KEY: keyFile,
      STANDIN_CHILD: '1',
    },
  });
  const ready = await new Promise<{ url: string; ruleId: string; token: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
  });
  return {
    ...ready,
    stats: async () =>
      (await (await fetch(`${ready.url}/_standin/stats`)).json()) as { accepted: number; requests: number },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

if (require.main === module && process.env.STANDIN_CHILD === '1') {
  void (async () => {
    const standIn = await startLogsIngestionStandIn({
      cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
      key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
      keep: false,
    });
    process.stdout.write(
      `${JSON.stringify({ url: standIn.url, ruleId: standIn.ruleId, token: standIn.token })}\n`,
    );
    process.stdin.resume();
    process.stdin.on('end', () => {
      void standIn.close().then(() => process.exit(0));
    });
  })();
}
