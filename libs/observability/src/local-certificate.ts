import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readTlsFiles } from './tls';

/** A certificate and key on disk, as TLS_CERT_FILE and TLS_KEY_FILE take them. */
export interface LocalCertificate {
  certFile: string;
  keyFile: string;
}

/** The names a local certificate is valid for: what `npm start` prints and the tests call. */
const SUBJECT_ALT_NAMES = 'IP:127.0.0.1,IP:::1,DNS:localhost';
/** The same names as `X509Certificate.subjectAltName` spells them. */
const AS_READ = ['IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'DNS:localhost'];
const VALID_DAYS = 365;
/** A kept certificate this close to its end is replaced. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

/**
 * A self-signed certificate for 127.0.0.1, ::1 and localhost in `dir` (`cert.pem`, `key.pem`
 * with mode 0600), for local HTTPS (`npm start -- --tls`, tests). One already there is kept
 * while it is valid for those names for another 30 days; otherwise a new one (ECDSA P-256, one
 * year) is made with the `openssl` binary. The certificate is its own CA: clients trust it with
 * `NODE_EXTRA_CA_CERTS=<certFile>` (Node) or by importing it (browsers, curl `--cacert`).
 */
export async function ensureLocalCertificate(dir: string): Promise<LocalCertificate> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile) && isUsable(certFile, keyFile)) {
    chmodSync(keyFile, 0o600);
    return { certFile, keyFile };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Made beside the final files and renamed over them, so a reader never sees half a pair.
  const tmpCert = `${certFile}.${process.pid}.tmp`;
  const tmpKey = `${keyFile}.${process.pid}.tmp`;
  try {
    await promisify(execFile)(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        String(VALID_DAYS),
        '-subj',
        '/CN=localhost',
        '-addext',
        `subjectAltName=${SUBJECT_ALT_NAMES}`,
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        '-addext',
        'keyUsage=critical,digitalSignature',
        '-addext',
        'extendedKeyUsage=serverAuth',
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
      ],
      { timeout: 30_000 },
    );
    chmodSync(tmpKey, 0o600);
    renameSync(tmpKey, keyFile);
    renameSync(tmpCert, certFile);
  } catch (err) {
    rmSync(tmpKey, { force: true });
    rmSync(tmpCert, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'openssl is not installed, so no local certificate can be made: install it ' +
          '(apt-get install openssl, brew install openssl) and try again',
      );
    }
    throw new Error(`openssl could not make a certificate: ${(err as Error).message}`);
  }
  return { certFile, keyFile };
}

function isUsable(certFile: string, keyFile: string): boolean {
  try {
    const files = readTlsFiles({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
    if (!files || files.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    const names = (new X509Certificate(files.cert).subjectAltName ?? '').split(', ');
    return AS_READ.every((n) => names.includes(n));
  } catch {
    return false;
  }
}
