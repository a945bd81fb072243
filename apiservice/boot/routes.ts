// The boot listener's routes, as Sidero's (/boot.ipxe, /ipxe, /env/<name>/<file>, /configdata)
// plus the boot agent's JSON calls (/agent/*). Thin: each route decodes, calls src/boot, answers.
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response, type Router } from 'express';
import { configData } from '../../src/boot/configdata.js';
import { decideIpxe, servable, type IpxeSettings } from '../../src/boot/decision.js';
import {
  ENVIRONMENT_FILES,
  isObjectName,
  openEnvironmentFile,
  type EnvironmentFile,
} from '../../src/boot/environments.js';
import { chainScript, normalMac } from '../../src/boot/ipxe.js';
import type { BootObjects } from '../../src/boot/objects.js';
import { heartbeat, register, reportAddresses, wipeDone, type AgentCaller } from '../../src/boot/registration.js';
import { bearerToken } from '../../src/boot/token.js';
import { ADDRESSES, decodeRequest, REGISTER, SERVER_ONLY } from '../../src/boot/wire.js';
import { badRequest, forbidden, notFoundWithMessage } from '../../src/machinery/errors.js';
import type { SecretReader } from '../../src/secrets/reader.js';
import { isHostPort } from './options.js';

export interface BootRouteDeps {
  objects: BootObjects;
  secrets: SecretReader;
  ipxe: IpxeSettings;
  autoAccept: boolean;
  registration: boolean;
  /** host:port to put into scripts for a request */
  endpoint(req: Request): string;
  /** the client's address, normalised */
  client(req: Request): string;
}

/** a query parameter's single value; a repeated parameter is a 400 */
function query(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined || typeof v === 'string') return v;
  throw badRequest(`the ${name} query parameter must be given once`);
}

const text = (res: Response, status: number, body: string) =>
  res.status(status).type('text/plain; charset=utf-8').set('Cache-Control', 'no-store').send(body);

export function bootRoutes(d: BootRouteDeps): Router {
  const r = express.Router();
  r.get('/boot.ipxe', (req, res) => {
    text(res, 200, chainScript(d.endpoint(req)));
  });
  r.get('/ipxe', async (req, res) => {
    const uuid = query(req, 'uuid');
    res.locals.uuid = uuid?.slice(0, 64);
    const rawMac = query(req, 'mac');
    const mac = rawMac ? normalMac(rawMac) : '';
    if (mac === undefined) throw badRequest('mac must be a MAC address such as 52-54-00-12-34-56');
    const arch = query(req, 'arch') === 'arm64' ? 'arm64' : 'amd64';
    const answer = await decideIpxe(d.objects, d.ipxe, { uuid, mac, arch, endpoint: d.endpoint(req) });
    res.locals.boots = answer.boots;
    if (answer.status === 404) res.status(404).end();
    else text(res, answer.status, answer.body);
  });
  r.get('/env/:name/:file', async (req, res) => {
    const name = String(req.params.name);
    const file = String(req.params.file);
    if (!isObjectName(name) || !(ENVIRONMENT_FILES as readonly string[]).includes(file))
      throw notFoundWithMessage(`no such file: an Environment serves only ${ENVIRONMENT_FILES.join(' and ')}`);
    await servable(d.objects, d.ipxe, name);
    const { size, stream } = await openEnvironmentFile(d.ipxe.dataDir, name, file as EnvironmentFile);
    res.status(200).type('application/octet-stream').set('Content-Length', String(size));
    await pipeline(stream, res).catch((e: NodeJS.ErrnoException) => {
      // a machine that stops reading (rebooted, gave up) is not a failure of ours
      if (e.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
    });
  });
  r.get('/configdata', async (req, res) => {
    const uuid = query(req, 'uuid');
    res.locals.uuid = uuid?.slice(0, 64);
    const config = await configData(d.objects, d.secrets, uuid, d.client(req));
    res.locals.machine = config.machine;
    res.status(200).type('application/yaml').set('Cache-Control', 'no-store').send(config.bytes);
  });

  const json = express.json({ limit: '256kb', strict: true, type: ['application/json', 'application/*+json'] });
  const caller = (req: Request): AgentCaller => ({
    token: bearerToken(req.get('authorization')),
    address: d.client(req),
  });
  const body = (req: Request) => {
    if (!req.is(['application/json', 'application/*+json']))
      throw Object.assign(new Error('unsupported'), { type: 'unsupported.media' });
    return req.body as unknown;
  };
  r.post('/agent/register', json, async (req, res) => {
    if (!d.registration) throw forbidden('registration is switched off on this server (--boot-registration=false)');
    const { request, name } = decodeRequest(REGISTER, body(req));
    res.locals.uuid = name;
    const reg = await register(d.objects, { autoAccept: d.autoAccept }, name, request, caller(req));
    res.status(reg.created ? 201 : 200).json({ uuid: name, token: reg.token, accepted: reg.accepted, wipe: reg.wipe });
  });
  r.post('/agent/addresses', json, async (req, res) => {
    const { request, name } = decodeRequest(ADDRESSES, body(req));
    res.locals.uuid = name;
    const server = await reportAddresses(d.objects, name, request.addresses, caller(req));
    res.status(200).json({ uuid: name, addresses: server.status?.addresses ?? [] });
  });
  r.post('/agent/heartbeat', json, async (req, res) => {
    const { name } = decodeRequest(SERVER_ONLY, body(req));
    res.locals.uuid = name;
    await heartbeat(d.objects, name, caller(req));
    res.status(200).json({ uuid: name });
  });
  r.post('/agent/wipe-done', json, async (req, res) => {
    const { name } = decodeRequest(SERVER_ONLY, body(req));
    res.locals.uuid = name;
    await wipeDone(d.objects, name, caller(req));
    res.status(200).json({ uuid: name });
  });
  return r;
}

/** the Host a request asked for, when it is a plain host:port (otherwise it is not put in a script) */
export function requestedHost(req: Request): string | undefined {
  const host = req.get('host');
  return host && (isHostPort(host) || /^[A-Za-z0-9.-]+$/.test(host)) ? host : undefined;
}
