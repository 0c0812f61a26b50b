import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workload } from '../../dev/workload';
import type { LogsRow } from '../../lib/records/row';
import { readContainer, startLocalAzure, type LocalAzure } from '../helpers/localAzure';

/**
 * Crash consistency: `defender-export replay` killed with SIGKILL in the middle of its batches, then run
 * again over the same input, as the Event Hubs trigger would redeliver from the last checkpoint. No archive
 * blob is written twice and no event is lost: every event is archived exactly once and in the logs at
 * least once (the second run re-sends, deduplicable by EventKey).
 */
const MAIN = path.resolve(__dirname, '../../dist/lib/cli/main.js');
const ENQUEUED = '2026-11-24T10:15:00.000Z';

let local: LocalAzure;
let dir: string;
beforeAll(async () => {
  local = await startLocalAzure();
  dir = mkdtempSync(path.join(tmpdir(), 'defender-export-crash-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await local?.close();
});

function replay(file: string, env: NodeJS.ProcessEnv, killWhen?: () => boolean) {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'replay',
      file,
      '--source',
      'crash',
      '--enqueued-time',
      ENQUEUED,
      '--batch-size',
      '50',
      '--partitions',
      '4',
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const watcher = killWhen
    ? setInterval(() => {
        if (killWhen()) child.kill('SIGKILL');
      }, 5)
    : undefined;
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => {
      if (watcher) clearInterval(watcher);
      resolve({ code, signal, stderr });
    }),
  );
}

describe('crash consistency', () => {
  it('replay killed with SIGKILL mid-batch, then run again: every event archived exactly once and in the logs', async () => {
    local.logs.reset();
    const bodies = [...workload({ count: 1500, seed: 41 })];
    const file = path.join(dir, 'events.ndjson');
    writeFileSync(file, `${bodies.join('\n')}\n`);
    const env = local.env();
    // Slow answers keep the first run in flight long enough to be killed in the middle.
    local.logs.inject({ status: 204, delayMs: 40, times: Infinity });

    const first = await replay(file, env, () => local.logs.acceptedCount() > 200);
    expect(first.signal).toBe('SIGKILL');
    const deliveredBeforeCrash = local.logs.acceptedCount();
    expect(deliveredBeforeCrash).toBeGreaterThan(0);

    local.logs.clearFaults();
    const second = await replay(file, env);
    expect(second.stderr).toContain('accounted for: all 1500 received');
    expect(second.code).toBe(0);

    const blobs = local.blobs;
    const archive = await readContainer(blobs.getContainerClient(env.ARCHIVE_CONTAINER!));
    const lines = archive.flatMap((b) => b.lines);
    const events = bodies.map((body) => JSON.stringify(JSON.parse(body)));
    expect(lines.length).toBe(events.length);
    expect(new Set(lines)).toEqual(new Set(events));
    expect(new Set(archive.map((b) => b.name)).size).toBe(archive.length);

    const keys = new Set(
      (local.logs.accepted('Custom-DefenderExport') as unknown as LogsRow[]).map((r) => r.EventKey),
    );
    expect(keys.size).toBe(events.length);
    expect(await readContainer(blobs.getContainerClient(env.PARKED_CONTAINER!))).toEqual([]);
    expect(await readContainer(blobs.getContainerClient(env.DEADLETTER_CONTAINER!))).toEqual([]);
  }, 180_000);
});
