// Address blocks: every simulator claims 127.A.B.0/24 of its own (never 127.0.0.0/24) by holding
// 127.A.B.1:P, moves on to another block when that one is taken, and its nodes share port P. Two
// simulators started on the same port end up in different blocks and both serve.
import { connect } from 'node:net';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { claimBlock, type AddressBlock } from '../../hack/talos-sim/addresses.js';
import { startSimulator, type Simulator } from '../../hack/talos-sim/simulator.js';
import { TalosClient } from '../../src/talos/client.js';

const blocks: AddressBlock[] = [];
const sims: Simulator[] = [];

afterAll(async () => {
  for (const s of sims) await s.stop();
  for (const b of blocks) await b.close();
});

/** A picker that offers these blocks in turn. */
function offering(...choices: [number, number][]): () => [number, number] {
  let i = 0;
  return () => choices[Math.min(i++, choices.length - 1)]!;
}

describe('loopback address blocks', () => {
  it('a taken block (EADDRINUSE on 127.A.B.1:P) makes the claimer try another', async () => {
    const first = await claimBlock(0, offering([201, 7]));
    blocks.push(first);
    expect(first.prefix).toBe('127.201.7');
    expect(first.address(0)).toBe('127.201.7.2');
    const second = await claimBlock(first.port, offering([201, 7], [201, 8]));
    blocks.push(second);
    expect([second.prefix, second.port]).toEqual(['127.201.8', first.port]);
  });

  it('never uses 127.0.0.0/24, and a node index outside the block is refused', async () => {
    await expect(claimBlock(0, offering([0, 0]))).rejects.toThrow('127.0.0.0/24');
    expect(() => blocks[0]!.address(253)).toThrow('253 node addresses');
  });

  it('the holder on 127.A.B.1 closes every connection at once', async () => {
    const socket = connect(blocks[0]!.port, '127.201.7.1');
    await once(socket, 'close');
    expect(socket.bytesRead).toBe(0);
  });

  it('two simulators on one port get blocks of their own and both serve', async () => {
    const a = await startSimulator({ maintenance: true, nodes: 1 });
    sims.push(a);
    const b = await startSimulator({ maintenance: true, nodes: 1, talosPort: a.port });
    sims.push(b);
    const [na, nb] = [a.nodes()[0]!, b.nodes()[0]!];
    expect(nb.port).toBe(na.port);
    expect(nb.address.replace(/\.\d+$/, '')).not.toBe(na.address.replace(/\.\d+$/, ''));
    for (const n of [na, nb]) {
      const c = TalosClient.maintenance({ endpoint: n.endpoint, timeoutMs: 3_000 });
      try {
        expect((await c.version()).version.tag).toBe('v1.13.9');
      } finally {
        c.close();
      }
    }
  });
});
