import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { createDevCertificate } from '../dev/certificates';

/**
 * Runs once before the test workers start. Compiles the project (the end-to-end tests run the built bin),
 * and makes the certificate of the local https stand-ins: Node reads NODE_EXTRA_CA_CERTS only when a
 * process starts, so it must be set here, before vitest forks its workers.
 */
export default function setup(): void {
  const root = resolve(__dirname, '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  const certificate = createDevCertificate();
  process.env.NODE_EXTRA_CA_CERTS = certificate.certFile;
  process.env.DEFENDER_EXPORT_DEV_CERT = certificate.certFile;
  process.env.DEFENDER_EXPORT_DEV_KEY = certificate.keyFile;
}
