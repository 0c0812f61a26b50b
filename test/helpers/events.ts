import type { JsonObject } from '../../lib/records/json';
import { sample } from './samples';

/** The sample alert with `count` entities cloned from its own (about 300 bytes each), ids renumbered. */
export function alertWithEntities(count: number): JsonObject {
  const alert = sample<JsonObject>('alert-eventhub-example-1-sample-alert.json');
  const templates = alert.Entities as JsonObject[];
  alert.Entities = Array.from({ length: count }, (_, i) => ({
    ...templates[i % templates.length],
    $id: String(i + 2),
    Name: `entity-${i}-\u00e9\u{1F600}`,
    CommandLine: `C:\\Windows\\System32\\cmd.exe /c "echo step ${i} of the intrusion\tfrom \u00e9\u00e9\u00e9"`,
  }));
  alert.SystemAlertId = `${count}-entities`;
  return alert;
}
