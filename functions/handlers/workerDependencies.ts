import { buildDependencies, type Dependencies } from '../../lib/dependencies';
import { workerConfig } from './workerConfig';

let built: Promise<Dependencies> | undefined;

/** Clients and stores, built once per worker from the validated settings (and again after a failure). */
export function workerDependencies(): Promise<Dependencies> {
  if (!built) {
    built = buildDependencies(workerConfig().delivery);
    built.catch(() => {
      built = undefined;
    });
  }
  return built;
}
