// The serving certificate from --tls-cert-file/--tls-private-key-file, reloaded when the files
// change (as kube-apiserver's dynamic serving certificate does), so a certificate cert-manager
// renews into the mounted Secret is served without a restart. Kubernetes updates a Secret volume by
// swapping a symlink in the directory, so the directories are watched, not the files; a periodic
// check covers filesystems where watching misses changes. A pair that does not load (half-written
// during a rotation, key not matching) leaves the current one in place until the next change.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';

export interface ServingCertificate {
  cert: string;
  key: string;
}

export interface ServingCertSource {
  current(): ServingCertificate;
  /** called after a new pair was loaded */
  onChange(listener: () => void): void;
  stop(): void;
}

const SETTLE_MS = 200;
const POLL_MS = 60_000;

export function staticServingCert(pair: ServingCertificate): ServingCertSource {
  return { current: () => pair, onChange: () => undefined, stop: () => undefined };
}

async function loadPair(certFile: string, keyFile: string): Promise<ServingCertificate> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  createSecureContext({ cert, key }); // throws unless the key belongs to the certificate
  return { cert, key };
}

/** reads the pair now (failing start-up when it does not load) and follows the files */
export async function fileServingCert(
  certFile: string,
  keyFile: string,
  log: Logger,
  pollMs = POLL_MS,
): Promise<ServingCertSource> {
  let pair: ServingCertificate;
  try {
    pair = await loadPair(certFile, keyFile);
  } catch (err) {
    throw new Error(`--tls-cert-file ${certFile} / --tls-private-key-file ${keyFile}: ${(err as Error).message}`);
  }
  const listeners: (() => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const reload = async () => {
    try {
      const next = await loadPair(certFile, keyFile);
      if (stopped || (next.cert === pair.cert && next.key === pair.key)) return;
      pair = next;
      log.info({ certFile }, 'serving certificate reloaded');
      for (const l of listeners) l();
    } catch (err) {
      log.warn(
        { err, certFile, keyFile },
        'serving certificate files do not load; still serving the previous certificate',
      );
    }
  };
  const soon = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void reload();
    }, SETTLE_MS);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(certFile), dirname(keyFile)])) {
    try {
      const w = watch(dir, soon);
      w.on('error', (err) =>
        log.warn({ err, dir }, 'cannot watch the serving certificate directory; checking every minute'),
      );
      w.unref();
      watchers.push(w);
    } catch (err) {
      log.warn({ err, dir }, 'cannot watch the serving certificate directory; checking every minute');
    }
  }
  const poll = setInterval(() => void reload(), pollMs);
  poll.unref();
  return {
    current: () => pair,
    onChange: (l) => void listeners.push(l),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
