// What /ipxe answers a booting machine, in Sidero's order: an unknown or unallocated server
// boots the agent environment; an installed one (PXEBooted, not pxeBootAlways) boots from disk;
// any other boots its Environment (the Server's, else its ServerClass's, else `default`).
import type { Environment } from '../api/environment.js';
import type { Server } from '../api/server.js';
import { notFoundWithMessage, preconditionFailed } from '../machinery/errors.js';
import { environmentServable } from './environments.js';
import { agentArgs, bootFromDiskScript, environmentScript, talosArgs, type BootFromDiskMethod } from './ipxe.js';
import { isBound, serverNameOf } from './names.js';
import type { BootObjects } from './objects.js';

export interface IpxeRequest {
  uuid?: string;
  /** already normalised (normalMac); empty when the firmware sent none */
  mac: string;
  arch: 'amd64' | 'arm64';
  /** host:port machines reach this listener at */
  endpoint: string;
}

export interface IpxeAnswer {
  status: 200 | 404;
  /** empty for http-404's deliberate empty answer */
  body: string;
  /** what the answer boots, for the log */
  boots: string;
}

export interface IpxeSettings {
  dataDir: string;
  bootFromDiskDefault: BootFromDiskMethod;
}

/** the agent environment of an architecture, an Environment the administrator provides */
export const agentEnvironmentName = (arch: IpxeRequest['arch']) => `agent-${arch}`;

export async function decideIpxe(objects: BootObjects, settings: IpxeSettings, req: IpxeRequest): Promise<IpxeAnswer> {
  const name = serverNameOf(req.uuid);
  const server = name ? await objects.server(name) : undefined;
  if (!server || !isBound(server.metadata.annotations)) {
    const env = await servable(objects, settings, agentEnvironmentName(req.arch));
    const args = agentArgs(env.spec?.kernel?.args ?? [], req.mac, req.endpoint);
    return { status: 200, body: environmentScript(env.metadata.name!, args), boots: `agent ${env.metadata.name}` };
  }
  const pxeBooted = server.status?.conditions?.some((c) => c.type === 'PXEBooted' && c.status === 'True');
  if (pxeBooted && !server.spec?.pxeBootAlways) {
    const method = await diskMethod(objects, settings, server);
    const body = bootFromDiskScript(method);
    return body === undefined
      ? { status: 404, body: '', boots: `disk ${method}` }
      : { status: 200, body, boots: `disk ${method}` };
  }
  const chosen =
    server.spec?.environmentRef?.name ?? (await objects.classOf(server))?.spec?.environmentRef?.name ?? 'default';
  const env = await servable(objects, settings, chosen);
  const args = talosArgs(env.spec?.kernel?.args ?? [], req.endpoint);
  return { status: 200, body: environmentScript(env.metadata.name!, args), boots: `environment ${chosen}` };
}

/** the Environment if it may be booted: 404 when there is none, 412 when it is not ready */
export async function servable(objects: BootObjects, settings: IpxeSettings, name: string): Promise<Environment> {
  const env = await objects.environment(name);
  if (!env) throw notFoundWithMessage(`environment "${name}" not found`);
  if (!(await environmentServable(settings.dataDir, env)))
    throw preconditionFailed(`environment "${name}" is not ready`);
  return env;
}

async function diskMethod(objects: BootObjects, settings: IpxeSettings, server: Server): Promise<BootFromDiskMethod> {
  const own = server.spec?.bootFromDiskMethod;
  if (own) return own;
  const ofClass = (await objects.classOf(server))?.spec?.bootFromDiskMethod;
  return ofClass || settings.bootFromDiskDefault;
}
