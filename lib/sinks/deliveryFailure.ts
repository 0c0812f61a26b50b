import { RestError } from '@azure/core-rest-pipeline';

/** Why a delivery failed, as the service said it: what a dead-letter or parked blob records. */
export interface DeliveryFailure {
  message: string;
  status?: number;
  code?: string;
  requestId?: string;
}

/**
 * Reads status, error code and request id off an Azure SDK error. The message is kept short and never
 * includes request headers (they carry the bearer token).
 */
export function describeFailure(error: unknown): DeliveryFailure {
  if (error instanceof RestError) {
    const requestId = error.response?.headers.get('x-ms-request-id') ?? error.request?.requestId;
    return {
      message: (error.message || `HTTP ${error.statusCode}`).slice(0, 500),
      ...(error.statusCode !== undefined ? { status: error.statusCode } : {}),
      ...(error.code !== undefined ? { code: error.code } : {}),
      ...(requestId ? { requestId } : {}),
    };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return { message: message.slice(0, 500), ...(typeof code === 'string' ? { code } : {}) };
}

export function failureText(failure: DeliveryFailure): string {
  const parts = [
    failure.status !== undefined ? `HTTP ${failure.status}` : undefined,
    failure.code,
    failure.message,
  ];
  return parts.filter(Boolean).join(' ') + (failure.requestId ? ` (request ${failure.requestId})` : '');
}
