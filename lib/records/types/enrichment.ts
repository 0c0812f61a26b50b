import { action, ciObject, optional, optionalFlag, optionalText } from '../fields';

const enrichment = optional(ciObject({ action: optionalText, isSnapshot: optionalFlag }));

/**
 * Continuous export adds `securityEventDataEnrichment {action, apiVersion, isSnapshot}` to every type but
 * alerts; older payloads carry the same as `assessmentEventDataEnrichment` / `subAssessmentEventDataEnrichment`.
 */
export const enrichmentFields = {
  securityEventDataEnrichment: enrichment,
  assessmentEventDataEnrichment: enrichment,
  subAssessmentEventDataEnrichment: enrichment,
};

type Enrichment = { action?: string | undefined; isSnapshot?: boolean | undefined } | undefined;

export function enrichmentOf(parsed: {
  securityEventDataEnrichment?: Enrichment;
  assessmentEventDataEnrichment?: Enrichment;
  subAssessmentEventDataEnrichment?: Enrichment;
}): { Action: string; IsSnapshot: boolean } {
  const sources = [
    parsed.securityEventDataEnrichment,
    parsed.assessmentEventDataEnrichment,
    parsed.subAssessmentEventDataEnrichment,
  ];
  return {
    Action: action(sources.find((s) => s?.action !== undefined)?.action),
    IsSnapshot: sources.some((s) => s?.isSnapshot === true),
  };
}
