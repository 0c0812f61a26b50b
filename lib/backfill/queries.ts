import { GRAPH_TYPES, type BackfillDataType } from './mapping';

/**
 * The Resource Graph query for one data type: its rows of `securityresources`. Alerts: the active ones, or
 * with `since` every alert generated since then, whatever became of it (what a gap in the stream lost).
 * `since` is written by Date.toISOString: nothing from a user reaches the text unparsed. The columns are
 * those the mapping reads.
 */
export function graphQuery(dataType: BackfillDataType, since?: Date): string {
  const type = GRAPH_TYPES[dataType];
  const lines = [`securityresources`, `| where type =~ '${type.resourceType}'`];
  if (dataType === 'Alert' && !since) lines.push(`| where properties.Status =~ 'Active'`);
  if (since && type.sinceField)
    lines.push(`| where todatetime(properties.${type.sinceField}) >= datetime(${since.toISOString()})`);
  // Ordered, so a page holds the same rows whenever it is read again (its archive name repeats).
  lines.push('| order by id asc');
  lines.push('| project id, name, type, tenantId, subscriptionId, resourceGroup, location, properties');
  return lines.join('\n');
}
