// Chaos: a receiver that answers 200 and then trickles its body forever (one
// request in three). Each such attempt ends at timeout.total and is retried:
// every push is delivered (0 lost), in push order per repository.

import t from 'tap';
import { waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { allArrived, checkDelivered, pushAll, REPOS, setup } from './race-kit.ts';

t.test('a receiver that answers 200 and trickles its body forever: each such attempt ends at timeout.total and is retried; 0 lost, order kept', async (t) => {
  // Every third request: status line, then a byte every 100 ms, never ending.
  const rx = await startReceiver({ respond: (req) => (req.n % 3 === 1 ? { trickleMs: 100 } : undefined) });
  t.teardown(() => rx.close());
  const { fx, repos } = setup(t, rx, 'relay-chaos-trickle-', { timeout: { connect: '1s', response: '1s', total: '1500ms' } });
  const daemon = await fx.startDaemon();
  const pushed = await pushAll(fx, repos, 5);
  await waitUntil(() => allArrived(rx, pushed), 'every push arrived', 45_000);
  // A trickled request reached the receiver but is not delivered: the relay retries it.
  const states = (): string[] => (JSON.parse(fx.relay(['deliveries', '--json', '--limit', '200']).stdout) as { state: string }[]).map((d) => d.state);
  // One CLI call per check (a loaded machine takes seconds per call); the last trickled retries may need several rounds.
  await waitUntil(() => { const s = states(); return s.length === REPOS.length * 5 && s.every((x) => x === 'delivered'); }, 'every delivery delivered', 60_000);
  checkDelivered(t, rx, pushed);
  const trickled = rx.requests.filter((r) => r.n % 3 === 1).length;
  t.ok(trickled >= 3, `${trickled} responses trickled forever`);
  const attempts = JSON.parse(fx.relay(['deliveries', '--json', '--limit', '200']).stdout) as { attempts: number }[];
  t.ok(attempts.some((d) => d.attempts > 1), 'trickled attempts were retried');
  const status = JSON.parse(fx.relay(['status', '--json']).stdout);
  t.same(status.destinations[0].stalled, [], 'no attempt stalls past its deadline');
  daemon.child.kill('SIGTERM');
  await daemon.exited;
});
