import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The real payloads shared by the project (copied from ../shared/samples, provenance in SOURCES.md). */
export const SAMPLES_DIR = resolve(__dirname, '../fixtures/samples');

export function sampleText(name: string): string {
  return readFileSync(join(SAMPLES_DIR, name), 'utf8');
}

export function sample<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(sampleText(name)) as T;
}

export function sampleNames(): string[] {
  return readdirSync(SAMPLES_DIR).filter((name) => name.endsWith('.json'));
}

/** REST API examples wrap the resource as `responses.200.body` (sometimes in `value`, one or many). */
export function restBody(name: string): Record<string, unknown>[] {
  const body = (sample(name) as { responses: { 200: { body: { value?: unknown } } } }).responses[200].body;
  const value = 'value' in body ? body.value : body;
  return (Array.isArray(value) ? value : [value]) as Record<string, unknown>[];
}

/** The events a list of message bodies holds (bare object, array or records envelope), each as JSON. */
export function eventsOf(bodies: readonly unknown[]): string[] {
  return bodies.flatMap((body) => {
    const value = (typeof body === 'string' ? JSON.parse(body) : body) as unknown;
    const records = (value as { records?: unknown }).records;
    const items = Array.isArray(value)
      ? value
      : Array.isArray(records) && Object.keys(value as object).length === 1
        ? records
        : [value];
    return items.map((item) => JSON.stringify(item));
  });
}
