import { describe, expect, it } from 'vitest';
import { ledgerText } from '../../lib/cli/ledgerText';
import { emptyLedger, type Ledger } from '../../lib/ledger';

function ledgerWith(status: number): Ledger {
  const ledger = emptyLedger();
  ledger.messages = ledger.received = ledger.routed = 1;
  ledger.destinations['logs:Custom-DefenderExport'] = {
    routed: 1,
    delivered: 0,
    parked: 1,
    deadLettered: 0,
    failure: { message: 'refused', status, code: 'OperationFailed', requestId: 'r-1' },
  };
  return ledger;
}

describe('ledgerText', () => {
  it('says which role to grant when Logs Ingestion refuses the identity (403), and that parked rows follow', () => {
    const text = ledgerText(ledgerWith(403));
    expect(text).toMatch(/first failure: HTTP 403 OperationFailed refused \(request r-1\)/);
    expect(text).toMatch(/grant it Monitoring Metrics Publisher on the data collection rule/);
    expect(text).toMatch(/delivered by redriveParked once it can/);
  });

  it('adds no role hint for a failure that passes by itself (503)', () => {
    expect(ledgerText(ledgerWith(503))).not.toMatch(/grant it/);
  });
});
