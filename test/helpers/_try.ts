import { openEtcdStore } from '../../src/storage/etcd3/store.js';
import { startEtcd } from './etcd.js';
const e = await startEtcd({ tls: true });
const good = await openEtcdStore({ endpoints: e.endpoints, caFile: e.tls!.caFile, certFile: e.tls!.certFile, keyFile: e.tls!.keyFile, requestTimeoutMs: 1500, compactionIntervalMs: 0 });
console.log('rev', await good.currentRevision());
const bad = await openEtcdStore({ endpoints: e.endpoints, caFile: e.tls!.caFile, requestTimeoutMs: 1500, compactionIntervalMs: 0 });
let t = Date.now();
try { await bad.currentRevision(); console.log('bad succeeded!'); } catch (err) { console.log('bad', Date.now() - t, (err as Error).message); }
const events: number[] = [];
const w = good.watch('/a/', await good.currentRevision(), { onEvent: (ev) => events.push(ev.revision), onError: (err) => console.log('watch error', err.message) });
await good.create('/a/1', Buffer.from('x'));
await e.stop();
t = Date.now();
try { await good.get('/a/1'); } catch (err) { console.log('down get', Date.now() - t, (err as Error).message); }
t = Date.now();
try { await good.create('/a/2', Buffer.from('x')); } catch (err) { console.log('down create', Date.now() - t, (err as Error).message); }
await e.start();
t = Date.now();
console.log('after restart', await good.get('/a/1').then((kv) => kv?.value.toString()), Date.now() - t);
await good.create('/a/3', Buffer.from('x'));
const end = await good.currentRevision();
for (let i = 0; i < 100 && !events.includes(end); i++) await new Promise((r) => setTimeout(r, 50));
console.log('events', events, 'end', end, good.stats());
w.close();
await good.close(); await bad.close();
await e.cleanup();
