import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Azurite's account and key are the same for every installation and published in its documentation:
 * they open nothing but a local emulator.
 */
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  blobPort: number;
  tablePort: number;
  /** A connection string for the emulator; `blobPort` can point the blob endpoint elsewhere (a fault proxy). */
  connectionString(ports?: { blobPort?: number; tablePort?: number }): string;
  stop(): Promise<void>;
}

/**
 * Starts Azurite from node_modules on free ports (port 0) unless `fixed` names them, in memory, and resolves
 * once both Blob and Table say where they listen. Its API version check is off: storage-blob 12.32 sends a
 * newer version than Azurite 3.35 knows.
 */
export async function startAzurite(
  fixed: { blob?: number; queue?: number; table?: number } = {},
): Promise<Azurite> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      require.resolve('azurite/dist/src/azurite.js'),
      '--blobPort',
      String(fixed.blob ?? 0),
      '--queuePort',
      String(fixed.queue ?? 0),
      '--tablePort',
      String(fixed.table ?? 0),
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--silent',
      '--loose',
    ],
    { cwd: mkdtempSync(join(tmpdir(), 'defender-export-azurite-')), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stopOnExit = () => child.kill();
  process.once('exit', stopOnExit);

  const ports = await new Promise<{ blob: number; table: number }>((resolve, reject) => {
    const found: { blob?: number; table?: number } = {};
    const timer = setTimeout(() => reject(new Error('Azurite did not start within 30 s')), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /Azurite (Blob|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/.exec(
        line,
      );
      if (!match) return;
      found[match[1] === 'Blob' ? 'blob' : 'table'] = Number(match[2]);
      if (found.blob && found.table) {
        clearTimeout(timer);
        resolve({ blob: found.blob, table: found.table });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with ${code} before it was ready`));
    });
  });

  return {
    blobPort: ports.blob,
    tablePort: ports.table,
    connectionString: (override = {}) =>
      [
        'DefaultEndpointsProtocol=http',
        `AccountName=${ACCOUNT}`,
        `AccountKey=${KEY}`,
        `BlobEndpoint=http://127.0.0.1:${override.blobPort ?? ports.blob}/${ACCOUNT}`,
        `TableEndpoint=http://127.0.0.1:${override.tablePort ?? ports.table}/${ACCOUNT}`,
      ].join(';') + ';',
    stop: async () => {
      process.off('exit', stopOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}
