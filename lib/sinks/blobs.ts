import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';

export const gzip = promisify(gzipCallback);
export const gunzip = promisify(gunzipCallback);

/** A short digest of content, for names that differ when the content does. */
export function digest(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 12);
}

/** UTC date parts for Hive-style paths. */
export function datePath(time: Date, withHour: boolean): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const parts = [
    `y=${time.getUTCFullYear()}`,
    `m=${two(time.getUTCMonth() + 1)}`,
    `d=${two(time.getUTCDate())}`,
  ];
  if (withHour) parts.push(`h=${two(time.getUTCHours())}`);
  return parts.join('/');
}

/**
 * Names from configuration or metadata, made safe for a blob path: nothing but [a-z0-9._-], and never a
 * segment of dots only (`..` would climb out of its folder when the URL is resolved).
 */
export function pathSegment(value: string): string {
  const safe =
    value
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '_')
      .slice(0, 64) || '_';
  return /^\.+$/.test(safe) ? '_' : safe;
}

/**
 * Creates a blob only if it does not exist (`If-None-Match: *`). A redelivered batch writes the same name
 * and gets 409 BlobAlreadyExists, which means the content is already there: nothing is written twice.
 */
export async function createOnce(
  container: ContainerClient,
  name: string,
  content: Buffer,
  options: { contentType: string; contentEncoding?: string; metadata?: Record<string, string> },
): Promise<'created' | 'exists'> {
  try {
    await container.getBlockBlobClient(name).upload(content, content.length, {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: {
        blobContentType: options.contentType,
        ...(options.contentEncoding ? { blobContentEncoding: options.contentEncoding } : {}),
      },
      ...(options.metadata ? { metadata: options.metadata } : {}),
    });
    return 'created';
  } catch (error) {
    // Only this 409 means "already there"; another (a container being deleted, say) is a failure to write.
    if (error instanceof RestError && error.statusCode === 409 && error.code === 'BlobAlreadyExists')
      return 'exists';
    throw error;
  }
}
