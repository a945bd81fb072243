// Where a simulator's nodes listen. Several simulators run at once (test files run in parallel), so
// each claims a loopback block 127.A.B.0/24 of its own: it holds a listener on 127.A.B.1:P for its
// whole life, which a second simulator picking the same block and port meets as EADDRINUSE and so
// moves on to another block. Its nodes are 127.A.B.2 and up, all on the one port P; a node that
// reboots keeps its address, since nobody else uses the block.
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';

/** 127.A.B.2 .. 127.A.B.254 */
export const MAX_BLOCK_NODES = 253;
const ATTEMPTS = 64;

export interface AddressBlock {
  /** `127.A.B` */
  prefix: string;
  /** the port every node of the block listens on */
  port: number;
  /** the address of node i (0-based): 127.A.B.(i+2) */
  address(i: number): string;
  /** gives the block up (after every node stopped listening) */
  close(): Promise<void>;
}

/** Picks A, B at random, never 127.0.0.0/24 (where 127.0.0.1 lives). */
export type BlockPicker = () => [number, number];

const randomBlock: BlockPicker = () => {
  for (;;) {
    const a = randomInt(0, 256);
    const b = randomInt(0, 256);
    if (a !== 0 || b !== 0) return [a, b];
  }
};

async function hold(address: string, port: number): Promise<Server> {
  // the holder answers nothing: a connection to it is closed at once
  const server = createServer((socket) => socket.destroy());
  server.listen(port, address);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([e]) => {
      throw e as Error;
    }),
  ]);
  return server;
}

/**
 * Claims a block: `port` 0 lets the system pick a free port for 127.A.B.1, which the nodes then
 * share. Tries another block while the chosen one is taken.
 */
export async function claimBlock(port = 0, pick: BlockPicker = randomBlock): Promise<AddressBlock> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('talos-port must be 0..65535');
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const [a, b] = pick();
    if (a === 0 && b === 0) throw new Error('the block 127.0.0.0/24 is never used');
    const prefix = `127.${a}.${b}`;
    let holder: Server;
    try {
      holder = await hold(`${prefix}.1`, port);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        lastError = e;
        continue;
      }
      if (code === 'EADDRNOTAVAIL')
        throw new Error(
          `cannot listen on ${prefix}.1: this host does not route 127.0.0.0/8 to the loopback interface (Linux does; macOS needs aliases)`,
        );
      throw e;
    }
    const bound = (holder.address() as AddressInfo).port;
    return {
      prefix,
      port: bound,
      address(i: number): string {
        if (!Number.isInteger(i) || i < 0 || i >= MAX_BLOCK_NODES)
          throw new Error(`a block has ${MAX_BLOCK_NODES} node addresses`);
        return `${prefix}.${i + 2}`;
      },
      close: () => new Promise<void>((resolve) => holder.close(() => resolve())),
    };
  }
  throw new Error(
    `no free loopback block after ${ATTEMPTS} tries on port ${port}: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
  );
}
