import { app, type InvocationContext } from '@azure/functions';
import { redriveParked as redrive, type RedriveReport } from '../lib/redrive';
import { workerDependencies } from './handlers/workerDependencies';

/** Re-sends parked rows and blobs that are due; gives up to dead-letter after REDRIVE_MAX_ATTEMPTS or _AGE_HOURS. */
export async function redriveParked(_timer: unknown, context: InvocationContext): Promise<RedriveReport> {
  const report = await redrive(await workerDependencies());
  context.info(JSON.stringify({ redrive: report }));
  return report;
}

app.timer('redriveParked', {
  schedule: '%REDRIVE_SCHEDULE%',
  handler: async (timer, context) => {
    await redriveParked(timer, context);
  },
});
