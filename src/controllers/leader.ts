// Controllers run in one replica at a time. With etcd the replicas campaign for leadership through an
// etcd lease (etcd's election recipe): the holder runs the controllers, and if its lease is lost
// (process dead, partitioned) the lease expires and another replica takes over. The embedded store
// is single-process by construction, so its one replica always leads.
import type { Logger } from 'pino';
import type { Etcd3 } from 'etcd3';
import { connectEtcd, type EtcdConnectionOptions } from '../storage/etcd3/client.js';

/** starts the leader's work; returns how to stop it (resolving once it has stopped) */
export type LeaderWork = () => Promise<() => Promise<void> | void>;

export interface Leadership {
  /** runs `work` whenever this replica leads; stops it when leadership is lost */
  run(work: LeaderWork): void;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export function singleReplica(log?: Logger): Leadership {
  let starting: Promise<(() => Promise<void> | void) | undefined> | undefined;
  let leading = false;
  return {
    run(work) {
      leading = true;
      starting = work().catch((err: unknown) => {
        log?.error({ err }, 'controllers failed to start');
        return undefined;
      });
    },
    isLeader: () => leading,
    async stop() {
      leading = false;
      // a stop that comes while the work is still starting waits for it, then stops it
      const stopWork = await starting;
      starting = undefined;
      await stopWork?.();
    },
  };
}

export interface EtcdLeadershipOptions extends EtcdConnectionOptions {
  /** election name: one key range in etcd shared by every replica */
  name: string;
  /** this replica's identity as other replicas see it */
  identity: string;
  /** lease TTL: how long a dead leader blocks the others */
  ttlSeconds?: number;
  /** wait before campaigning again after an error */
  retryMs?: number;
  log: Logger;
}

export async function etcdLeadership(opts: EtcdLeadershipOptions): Promise<Leadership> {
  const client: Etcd3 = await connectEtcd(opts);
  const election = client.election(opts.name, opts.ttlSeconds ?? 15);
  let stopped = false;
  let leading = false;
  let stopWork: (() => Promise<void> | void) | undefined;
  let campaign: ReturnType<typeof election.campaign> | undefined;
  let retry: NodeJS.Timeout | undefined;

  const lose = async () => {
    if (leading) opts.log.info({ identity: opts.identity }, 'lost controller leadership');
    leading = false;
    const s = stopWork;
    stopWork = undefined;
    await s?.();
  };

  const campaignFor = (work: LeaderWork) => {
    if (stopped) return;
    const c = election.campaign(opts.identity);
    campaign = c;
    c.on('elected', () => {
      if (stopped || campaign !== c) return;
      leading = true;
      opts.log.info({ identity: opts.identity }, 'acquired controller leadership');
      work().then(
        (s) => {
          if (leading && campaign === c) stopWork = s;
          else void s();
        },
        (err: unknown) => opts.log.error({ err }, 'controllers failed to start'),
      );
    });
    c.on('error', (err: Error) => {
      opts.log.warn({ err: err.message }, 'controller leadership campaign failed; campaigning again');
      void lose();
      if (campaign === c) campaign = undefined;
      if (!stopped) retry = setTimeout(() => campaignFor(work), opts.retryMs ?? 2_000);
    });
  };

  return {
    run: campaignFor,
    isLeader: () => leading,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      await lose();
      await campaign?.resign().catch(() => undefined);
      client.close();
    },
  };
}
