// A stand-in for Sidero's plain HTTP power API (`spec.managementApi`, QEMU test rigs): POST /poweron,
// /poweroff, /reboot, /pxeboot change a machine's power state and next boot, every call recorded.
// Listens on 127.0.0.1, port 0.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class FakePowerAPI {
  readonly calls: string[] = [];
  power: 'on' | 'off' = 'off';
  /** the next boot goes to the network */
  pxeNext = false;
  /** where each boot went: pxe or disk */
  readonly boots: string[] = [];
  /** answer every call with this status instead (e.g. 401 from an auth proxy in front) */
  failWith?: number;
  url = '';
  /** host:port, as `managementApi.endpoint` names it */
  endpoint = '';
  private server?: Server;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '';
        this.calls.push(`${req.method} ${path}`);
        const done = (code: number) => {
          res.writeHead(code, { 'Content-Type': 'text/plain' });
          res.end(code === 200 ? 'ok' : 'failed');
        };
        if (this.failWith) return done(this.failWith);
        if (req.method !== 'POST') return done(405);
        if (path === '/poweron') this.boot();
        else if (path === '/poweroff') this.power = 'off';
        else if (path === '/reboot') {
          this.power = 'off';
          this.boot();
        } else if (path === '/pxeboot') this.pxeNext = true;
        else return done(404);
        done(200);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.url = `http://${this.endpoint}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private boot(): void {
    if (this.power === 'on') return;
    this.power = 'on';
    this.boots.push(this.pxeNext ? 'pxe' : 'disk');
    this.pxeNext = false;
  }
}
