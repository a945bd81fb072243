// The boot agent's calls: register (creates or updates the Server named by the machine's SMBIOS
// UUID and hands out the token later calls present), addresses, heartbeat and wipe-done. A server
// can only be changed by the agent holding its token; the token is stored only as a hash.
import { serverKind, type Server } from '../api/server.js';
import { groupVersion } from '../machinery/kind.js';
import type { NodeAddress } from '../api/schema.js';
import { forbidden, StatusError, unauthorized } from '../machinery/errors.js';
import { systemContext, type RequestContext } from '../machinery/registry/context.js';
import { AGENT_TOKEN_HASH_ANNOTATION, BOOT_FIELD_MANAGER, isBound, normalAddress } from './names.js';
import type { BootObjects } from './objects.js';
import { newToken, tokenHash, tokenMatches } from './token.js';
import type { AddressesRequest, RegisterRequest } from './wire.js';

export interface RegistrationSettings {
  autoAccept: boolean;
}

export interface Registration {
  created: boolean;
  /** the token the agent presents from now on (the one it presented, or a new one) */
  token: string;
  accepted: boolean;
  /** the agent should wipe the disks: accepted, not allocated, not clean */
  wipe: boolean;
}

/** who asks: the token it presented (if any) and its address */
export interface AgentCaller {
  token?: string;
  address: string;
}

/** a write of ours is retried this often when another writer moved the Server in between */
const WRITE_ATTEMPTS = 8;

const context = (): RequestContext => ({ ...systemContext(), fieldManager: BOOT_FIELD_MANAGER });

const pointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

export async function register(
  objects: BootObjects,
  settings: RegistrationSettings,
  name: string,
  req: RegisterRequest,
  caller: AgentCaller,
): Promise<Registration> {
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = await objects.server(name);
      const result = existing
        ? await reregister(objects, existing, req, caller)
        : await create(objects, settings, name, req);
      const server = req.addresses
        ? await reportAddresses(objects, name, req.addresses, caller, result.token)
        : result.server;
      return {
        created: !existing,
        token: result.token,
        accepted: !!server.spec?.accepted,
        wipe: !!server.spec?.accepted && !isBound(server.metadata.annotations) && !server.status?.isClean,
      };
    } catch (e) {
      if (attempt < WRITE_ATTEMPTS && raced(e)) continue;
      throw e;
    }
  }
}

async function create(
  objects: BootObjects,
  settings: RegistrationSettings,
  name: string,
  req: RegisterRequest,
): Promise<{ server: Server; token: string }> {
  const token = newToken();
  const spec: Record<string, unknown> = { accepted: settings.autoAccept };
  if (req.hostname) spec.hostname = req.hostname;
  if (req.hardware) spec.hardware = req.hardware;
  if (req.bmc) spec.bmc = { endpoint: req.bmc.address, ...(req.bmc.port ? { port: req.bmc.port } : {}) };
  const body = {
    apiVersion: groupVersion(serverKind),
    kind: 'Server',
    metadata: { name, annotations: { [AGENT_TOKEN_HASH_ANNOTATION]: tokenHash(token) } },
    spec,
  };
  const server = (await objects.servers.create(undefined, { value: body, duplicates: [] }, context())) as Server;
  return { server, token };
}

/**
 * An agent registering a known server: with the server's token it may; without one it may claim a
 * server that has no token yet, or one that is not allocated when it asks from an address the
 * server registered (an agent booted again has lost its token; that address is the same proof
 * /configdata asks for). It then gets a new token, and the old one stops working.
 */
async function reregister(
  objects: BootObjects,
  server: Server,
  req: RegisterRequest,
  caller: AgentCaller,
): Promise<{ server: Server; token: string }> {
  const name = server.metadata.name!;
  const hash = server.metadata.annotations?.[AGENT_TOKEN_HASH_ANNOTATION];
  let token = caller.token;
  if (token !== undefined) {
    if (!hash || !tokenMatches(token, hash))
      throw forbidden(`the token presented is not the token of server "${name}"`);
  } else if (hash) {
    const fromRegistered = (server.status?.addresses ?? []).some((a) => normalAddress(a.address) === caller.address);
    if (isBound(server.metadata.annotations) || !fromRegistered)
      throw forbidden(
        `server "${name}" is registered to an agent: present its token (Authorization: Bearer), or remove the annotation ${AGENT_TOKEN_HASH_ANNOTATION} to let any agent register it again`,
      );
  }
  token ??= newToken();
  const ops: unknown[] = [{ op: 'replace', path: '/metadata/resourceVersion', value: server.metadata.resourceVersion }];
  const annotations = server.metadata.annotations;
  if (!hash || !tokenMatches(token, hash)) {
    ops.push(
      annotations
        ? { op: 'add', path: `/metadata/annotations/${pointer(AGENT_TOKEN_HASH_ANNOTATION)}`, value: tokenHash(token) }
        : { op: 'add', path: '/metadata/annotations', value: { [AGENT_TOKEN_HASH_ANNOTATION]: tokenHash(token) } },
    );
  }
  if (req.hostname) ops.push({ op: 'add', path: '/spec/hostname', value: req.hostname });
  // the inventory is replaced as a whole: what the machine no longer reports is gone
  if (req.hardware) ops.push({ op: 'add', path: '/spec/hardware', value: req.hardware });
  // a BMC an administrator set up is never changed by what a machine says
  if (req.bmc && !server.spec?.bmc)
    ops.push({
      op: 'add',
      path: '/spec/bmc',
      value: { endpoint: req.bmc.address, ...(req.bmc.port ? { port: req.bmc.port } : {}) },
    });
  const updated = (await objects.servers.patch(undefined, name, 'json', ops, context())) as Server;
  return { server: updated, token };
}

/** the server, once the caller's token is checked against it */
async function authorized(objects: BootObjects, name: string, token: string | undefined): Promise<Server> {
  if (token === undefined) throw unauthorized('present the token registration gave (Authorization: Bearer <token>)');
  const server = await objects.server(name);
  const hash = server?.metadata.annotations?.[AGENT_TOKEN_HASH_ANNOTATION];
  // an unknown server and a wrong token look the same
  if (!server || !hash || !tokenMatches(token, hash))
    throw forbidden(`the token presented is not the token of server "${name}"`);
  return server;
}

/** a status write at the version read, retried on a server another writer moved meanwhile */
async function writeStatus(
  objects: BootObjects,
  name: string,
  token: string | undefined,
  change: (server: Server) => Record<string, unknown>,
): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    const server = await authorized(objects, name, token);
    const patch = { metadata: { resourceVersion: server.metadata.resourceVersion }, status: change(server) };
    try {
      return (await objects.servers.patch(undefined, name, 'merge', patch, context(), 'status')) as Server;
    } catch (e) {
      if (attempt < WRITE_ATTEMPTS && raced(e)) continue;
      throw e;
    }
  }
}

/** addresses of the types reported replace those of the same type; other types are kept (Sidero) */
export function reportAddresses(
  objects: BootObjects,
  name: string,
  addresses: AddressesRequest['addresses'],
  caller: AgentCaller,
  token = caller.token,
): Promise<Server> {
  return writeStatus(objects, name, token, (server) => {
    const types = new Set(addresses.map((a) => a.type));
    const kept = (server.status?.addresses ?? []).filter((a) => !types.has(a.type));
    const seen = new Set<string>();
    const reported = addresses.filter((a: NodeAddress) => {
      const key = `${a.type}/${a.address}`;
      return !seen.has(key) && !!seen.add(key);
    });
    return { addresses: [...kept, ...reported] };
  });
}

export function heartbeat(objects: BootObjects, name: string, caller: AgentCaller): Promise<Server> {
  return writeStatus(objects, name, caller.token, (server) => ({
    conditions: withCondition(server, {
      type: 'PowerCycle',
      status: 'False',
      severity: 'Info',
      reason: 'InProgress',
      message: `agent heartbeat at ${rfc3339()}`,
    }),
  }));
}

export function wipeDone(objects: BootObjects, name: string, caller: AgentCaller): Promise<Server> {
  return writeStatus(objects, name, caller.token, (server) => ({
    isClean: true,
    conditions: withCondition(server, {
      type: 'PowerCycle',
      status: 'True',
      reason: 'Wiped',
      message: 'the agent wiped the disks',
    }),
  }));
}

interface ConditionChange {
  type: string;
  status: 'True' | 'False';
  severity?: 'Info';
  reason: string;
  message: string;
}

const rfc3339 = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** CAPI style: one per type, lastTransitionTime moves only when the status does */
function withCondition(server: Server, c: ConditionChange): NonNullable<NonNullable<Server['status']>['conditions']> {
  const all = server.status?.conditions ?? [];
  const previous = all.find((x) => x.type === c.type);
  const next = {
    ...c,
    lastTransitionTime: previous && previous.status === c.status ? previous.lastTransitionTime : rfc3339(),
  };
  return [...all.filter((x) => x.type !== c.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

function raced(e: unknown): boolean {
  return e instanceof StatusError && (e.reason === 'Conflict' || e.reason === 'AlreadyExists');
}
