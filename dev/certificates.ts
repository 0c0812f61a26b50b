import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface DevCertificate {
  cert: string;
  key: string;
  /** The certificate as a file, for NODE_EXTRA_CA_CERTS. */
  certFile: string;
  keyFile: string;
}

/**
 * A self-signed certificate for the local https stand-ins, valid for localhost and 127.0.0.1, made fresh
 * at every start. The Azure SDKs refuse bearer tokens over plain http, and Node trusts this certificate
 * only through NODE_EXTRA_CA_CERTS, which it reads when it starts.
 */
export function createDevCertificate(
  dir = mkdtempSync(join(tmpdir(), 'defender-export-tls-')),
): DevCertificate {
  const pems = selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    days: 2,
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const certFile = join(dir, 'dev-cert.pem');
  const keyFile = join(dir, 'dev-key.pem');
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  return { cert: pems.cert, key: pems.private, certFile, keyFile };
}
