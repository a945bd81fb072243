// A local stand-in for the Talos Management API: records every call, answers 200 with JSON, and
// can be told to fail. Listens on 127.0.0.1, port 0.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordedBody } from '../../hack/bmc-sim/requestbody.js';

export interface RecordedCall {
  method: string;
  path: string;
  body: unknown;
  /** when the call arrived (performance.now() of the test process) */
  at: number;
}

export class FakeManagementAPI {
  readonly calls: RecordedCall[] = [];
  /** answer every call with this HTTP status instead of 200 */
  failWith?: number;
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void recordedBody(req).then((body) => {
        this.calls.push({ method: req.method ?? '', path: req.url ?? '', body, at: performance.now() });
        const code = this.failWith ?? 200;
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(code === 200 ? { status: 'ok' } : { detail: 'failure injected by the test' }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  callsTo(method: string, pathPrefix: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && c.path.startsWith(pathPrefix));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
