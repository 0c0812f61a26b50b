import { loadConfig } from '../../lib/config';
import { buildDependencies, type Dependencies } from '../../lib/dependencies';

let built: Promise<Dependencies> | undefined;

/** Clients and stores, built once per worker from the validated settings (and again after a failure). */
export function workerDependencies(): Promise<Dependencies> {
  if (!built) {
    built = buildDependencies(loadConfig(process.env), process.env);
    built.catch(() => {
      built = undefined;
    });
  }
  return built;
}
