import { isRestError } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';
import type { BlobServiceClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { BLOB_ROLE, TABLE_ROLE } from '../azure/preflight';
import { DOCTOR_PROBE_PREFIX } from '../sinks/parking';
import { check, type Check } from './model';

const failureText = (error: unknown) => {
  if (isRestError(error))
    return `HTTP ${error.statusCode ?? 'no answer'}${error.code ? ` ${error.code}` : ''}`;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return typeof code === 'string' ? code : String(message ?? error).split('\n')[0]!;
};

const refused = (error: unknown) =>
  isRestError(error) && (error.statusCode === 401 || error.statusCode === 403);

/**
 * Each container exists, and a probe blob can be written and deleted in it: what the app does with every
 * batch, as whoever runs the doctor. The probe is scheduled never to be due, so a redrive listing the parked
 * container meanwhile leaves it alone.
 */
export async function containerChecks(
  blobs: BlobServiceClient,
  containers: ReadonlyArray<{ setting: string; name: string }>,
  now: Date,
): Promise<Check[]> {
  return Promise.all(
    containers.map(async ({ setting, name }) => {
      const subject = `container ${name}`;
      const container = blobs.getContainerClient(name);
      try {
        if (!(await container.exists())) {
          return check(
            'storage',
            subject,
            'warn',
            `${setting}: ${name} does not exist yet`,
            `The app creates it at its first batch; that needs ${BLOB_ROLE}. infra/main.bicep creates it with the account.`,
          );
        }
      } catch (error) {
        return check(
          'storage',
          subject,
          'fail',
          `${name} could not be read (${failureText(error)})`,
          refused(error)
            ? `Grant ${BLOB_ROLE}, or check the storage firewall.`
            : 'Check the storage connection setting and that the account is reachable.',
        );
      }
      const probe = container.getBlockBlobClient(
        `${DOCTOR_PROBE_PREFIX}${now.toISOString().replace(/[:.]/g, '')}-${randomUUID()}.txt`,
      );
      try {
        const text = 'written by defender-export doctor, and deleted at once';
        await probe.upload(text, Buffer.byteLength(text), {
          conditions: { ifNoneMatch: '*' },
          metadata: { nextattemptat: '9999-12-31T00:00:00.000Z', attempts: '0' },
        });
      } catch (error) {
        return check(
          'storage',
          subject,
          'fail',
          `a probe blob could not be written to ${name} (${failureText(error)}): batches for it would be parked or lost`,
          refused(error)
            ? `Grant ${BLOB_ROLE} (a new role assignment can take a few minutes to apply); with a SAS, it needs write and create.`
            : 'Check the storage account, its firewall and the connection setting.',
        );
      }
      try {
        await probe.delete();
      } catch (error) {
        return check(
          'storage',
          subject,
          'warn',
          `the probe blob was written but could not be deleted (${failureText(error)}): ${probe.name} is left behind`,
          'The redrive removes parked blobs once delivered: it needs delete (Storage Blob Data Contributor has it).',
        );
      }
      return check('storage', subject, 'pass', 'exists; a probe blob was written and deleted');
    }),
  );
}

/** Each state table exists and can be read. */
export async function tableChecks(tables: readonly TableClient[]): Promise<Check[]> {
  return Promise.all(
    tables.map(async (table) => {
      const subject = `table ${table.tableName}`;
      try {
        await table
          .listEntities({ queryOptions: { select: ['PartitionKey'] } })
          .byPage({ maxPageSize: 1 })
          .next();
        return check('storage', subject, 'pass', 'exists and can be read');
      } catch (error) {
        if (isRestError(error) && error.statusCode === 404)
          return check(
            'storage',
            subject,
            'warn',
            `${table.tableName} does not exist yet`,
            `The app creates it at its first run; that needs ${TABLE_ROLE}.`,
          );
        return check(
          'storage',
          subject,
          'fail',
          `${table.tableName} could not be read (${failureText(error)})`,
          refused(error)
            ? `Grant ${TABLE_ROLE}, or check the storage firewall.`
            : 'Check STATE_STORAGE and that the account is reachable.',
        );
      }
    }),
  );
}
