import { reasonOf, type ResourceReader } from '../azure/resources';
import { check, type Area, type Check } from './model';

/** Built-in roles by the GUID of their definition (the same in every tenant). */
export const ROLES = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde',
  eventHubsDataOwner: 'f526a384-b230-433a-b45c-95f59c4a2dec',
  securityReader: '39bc4728-0917-49c7-9d2c-d95423bc2eb4',
  securityAdmin: 'fb1c8493-542b-48eb-b624-b4c8fea62acd',
} as const;

export interface RoleNeed {
  area: Area;
  /** The role as a person names it: "Monitoring Metrics Publisher". */
  role: string;
  /** Role definitions that grant what is needed (the role itself, and broader ones that include it). */
  grantedBy: readonly string[];
  /** The resource it is needed on. */
  scope: string;
  /** What the scope is, in words: "the data collection rule". */
  on: string;
}

/** Whether the principal holds a role that grants `need` at its scope or above, directly or through a group. */
export async function roleCheck(reader: ResourceReader, principalId: string, need: RoleNeed): Promise<Check> {
  const name = `role ${need.role}`;
  const assignments = await reader.roleAssignments(need.scope, principalId);
  if (!('found' in assignments)) {
    const why = reasonOf(assignments);
    return check(
      need.area,
      name,
      'warn',
      `the role assignments on ${need.on} could not be read (${why})`,
      'Reading role assignments needs Microsoft.Authorization/roleAssignments/read on the scope (Reader has it).',
    );
  }
  const held = assignments.found.find((a) => need.grantedBy.includes(a.roleDefinition));
  if (held) {
    const where =
      held.scope.toLowerCase() === need.scope.toLowerCase() ? need.on : `${held.scope} (inherited)`;
    return check(need.area, name, 'pass', `held on ${where}`);
  }
  return check(
    need.area,
    name,
    'fail',
    `principal ${principalId} holds no ${need.role} on ${need.on}`,
    `az role assignment create --assignee-object-id ${principalId} --role "${need.role}" --scope ${need.scope}` +
      ' (a new assignment can take a few minutes to apply)',
  );
}
