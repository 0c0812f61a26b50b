import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createDevCertificate } from './certificates';

export interface TrustedCertificate {
  cert: string;
  key: string;
}

/**
 * Runs `main` in a process that trusts a fresh dev certificate. Node reads NODE_EXTRA_CA_CERTS only at
 * start, so the first call makes the certificate and runs this script again with it set; the second runs
 * `main`. The exit code of `main` becomes the process's.
 */
export function withTrustedCertificate(
  script: string,
  main: (certificate: TrustedCertificate) => Promise<number>,
): void {
  const certFile = process.env.DEFENDER_EXPORT_DEV_CERT;
  const keyFile = process.env.DEFENDER_EXPORT_DEV_KEY;
  if (!certFile || !keyFile || process.env.NODE_EXTRA_CA_CERTS !== certFile) {
    const certificate = createDevCertificate();
    const child = spawnSync(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: certificate.certFile,
        DEFENDER_EXPORT_DEV_CERT: certificate.certFile,
        DEFENDER_EXPORT_DEV_KEY: certificate.keyFile,
      },
    });
    process.exitCode = child.status ?? 1;
    return;
  }
  main({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
