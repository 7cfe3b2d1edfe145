import { execFile } from 'node:child_process';
import { access, chmod, mkdir, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificateFiles {
  certPath: string;
  keyPath: string;
  /** False when an existing certificate was reused. */
  created: boolean;
}

/** 825 days is the longest validity Apple platforms accept for a TLS server certificate. */
const VALIDITY_DAYS = 825;

/**
 * Makes sure `dir` holds `cert.pem` and `key.pem`, generating a self-signed
 * EC P-256 certificate with the `openssl` CLI when neither exists. The
 * subject alternative names cover `hostnames` plus localhost, 127.0.0.1 and
 * ::1, so local clients that verify against the certificate itself work.
 *
 * An existing pair is never replaced: an operator may have put a real
 * certificate there.
 */
export async function ensureCertificate(dir: string, hostnames: readonly string[]): Promise<CertificateFiles> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const [haveCert, haveKey] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (haveCert && haveKey) return { certPath, keyPath, created: false };
  if (haveCert !== haveKey) {
    const missing = haveCert ? keyPath : certPath;
    throw new Error(`${missing} is missing but its partner exists; restore it, or delete both to have a self-signed pair generated`);
  }

  const names = subjectAltNames(hostnames);
  const commonName = names.dns[0] ?? 'localhost';
  const san = [...names.dns.map((name) => `DNS:${name}`), ...names.ip.map((ip) => `IP:${ip}`)].join(',');

  await mkdir(dir, { recursive: true });
  // Generate beside the final names and rename, so a crash never leaves a
  // half-written pair that the next start would mistake for a real one.
  const suffix = `.${process.pid}.tmp`;
  const tmpCert = certPath + suffix;
  const tmpKey = keyPath + suffix;
  try {
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-new',
        '-nodes',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-sha256',
        '-days',
        String(VALIDITY_DAYS),
        '-subj',
        `/CN=${escapeSubjectValue(commonName)}`,
        '-addext',
        `subjectAltName=${san}`,
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
    ).catch((error: unknown) => {
      const detail = (error as { stderr?: string }).stderr?.trim();
      throw new Error(`openssl could not create a self-signed certificate${detail ? `: ${detail}` : ''}`, {
        cause: error,
      });
    });
    await chmod(tmpKey, 0o600);
    await chmod(tmpCert, 0o644);
    await rename(tmpKey, keyPath);
    await rename(tmpCert, certPath);
  } finally {
    await Promise.all([rm(tmpCert, { force: true }), rm(tmpKey, { force: true })]);
  }
  return { certPath, keyPath, created: true };
}

function subjectAltNames(hostnames: readonly string[]): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const raw of [...hostnames, 'localhost', '127.0.0.1', '::1']) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (isIP(name) !== 0) {
      if (!ip.includes(name)) ip.push(name);
    } else {
      // Anything else would make openssl reject the whole SAN list.
      if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name)) {
        throw new Error(`${JSON.stringify(raw)} is not a valid host name for a certificate`);
      }
      if (!dns.includes(name)) dns.push(name);
    }
  }
  return { dns, ip };
}

function escapeSubjectValue(value: string): string {
  // openssl's -subj syntax treats "/" and "=" as separators.
  return value.replace(/[\\/=+]/g, (char) => `\\${char}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
