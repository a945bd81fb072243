// Shared by the machineconfig tests: certificate inspection with Node's X509Certificate for
// chains and keys, and @peculiar/x509 for the extensions Node does not expose.
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export const HOUR_MS = 60 * 60 * 1000;

/** A fixed, whole-second generation time so validity bounds can be compared exactly. */
export const NOW = new Date('2030-01-02T03:04:05Z');

export interface CertFacts {
  node: X509Certificate;
  notBefore: Date;
  notAfter: Date;
  subjectOrganizations: string[];
  subjectCommonNames: string[];
  /** number of RDN attributes in the subject */
  subjectAttributeCount: number;
  basicConstraints?: { ca: boolean; critical: boolean };
  keyUsage?: { flags: number; critical: boolean };
  extKeyUsage?: string[];
  subjectKeyIdHex?: string;
  authorityKeyIdHex?: string;
}

export function inspect(pem: string): CertFacts {
  const cert = new x509.X509Certificate(pem);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const skid = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const akid = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  return {
    node: new X509Certificate(pem),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    subjectOrganizations: cert.subjectName.getField('O'),
    subjectCommonNames: cert.subjectName.getField('CN'),
    subjectAttributeCount: cert.subjectName.toJSON().reduce((n, rdn) => n + Object.values(rdn).flat().length, 0),
    ...(bc ? { basicConstraints: { ca: bc.ca, critical: bc.critical } } : {}),
    ...(ku ? { keyUsage: { flags: ku.usages, critical: ku.critical } } : {}),
    ...(eku ? { extKeyUsage: eku.usages.map(String) } : {}),
    ...(skid ? { subjectKeyIdHex: skid.keyId } : {}),
    ...(akid?.keyId ? { authorityKeyIdHex: akid.keyId } : {}),
  };
}

export const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

/** the label of the (first) PEM block */
export function pemLabel(pem: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
}
