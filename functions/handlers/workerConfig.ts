import { loadWorkerConfig, type WorkerConfig } from '../../lib/config';

let loaded: WorkerConfig | undefined;

/** The app settings, read and validated once per worker: the only place the functions read the environment. */
export function workerConfig(): WorkerConfig {
  return (loaded ??= loadWorkerConfig(process.env));
}
