// The fakes' request bodies, recorded as they came: JSON when it parses, else the text as sent
// (a fake must show a client's malformed body, not refuse it), undefined when empty.
import type { IncomingMessage } from 'node:http';

export function recordedBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch {
        resolve(text);
      }
    });
  });
}
