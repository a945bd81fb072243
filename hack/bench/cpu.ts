// CPU time each process spent during a measure (server, etcd, this benchmark process), so a
// figure can be read as "who was busy": on a small machine all three share the same cores.
// Linux only (/proc); elsewhere only this process is measured.
import { readFileSync, readdirSync } from 'node:fs';

export interface CpuSample {
  benchMs: number;
  serverMs?: number;
  etcdMs?: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function procCpuMs(pid: number): number | undefined {
  try {
    // fields after "(comm) ": state is field 3, utime 14 and stime 15 (1-based)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** the pid of this process's child running `command` (e.g. etcd), if /proc tells */
export function childPid(command: string): number | undefined {
  try {
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      for (const pid of readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === command) return Number(pid);
      }
    }
  } catch {
    // not Linux
  }
  return undefined;
}

export class CpuMeter {
  constructor(
    private readonly serverPid?: number,
    private readonly etcdPid?: number,
  ) {}

  sample(): CpuSample {
    const u = process.cpuUsage();
    return {
      benchMs: (u.user + u.system) / 1000,
      serverMs: this.serverPid === undefined ? undefined : procCpuMs(this.serverPid),
      etcdMs: this.etcdPid === undefined ? undefined : procCpuMs(this.etcdPid),
    };
  }

  /** runs fn and adds the CPU milliseconds each process spent meanwhile to its result */
  async measure<T extends object>(fn: () => Promise<T>): Promise<T & { cpuMs: CpuSample }> {
    const before = this.sample();
    const result = await fn();
    const after = this.sample();
    const diff = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : Math.round(b - a));
    return {
      ...result,
      cpuMs: { benchMs: Math.round(after.benchMs - before.benchMs), serverMs: diff(before.serverMs, after.serverMs), etcdMs: diff(before.etcdMs, after.etcdMs) },
    };
  }
}
