import t from 'tap';
import { capCommitLists } from '../../src/git/commit-caps.ts';

t.test('each ref keeps its newest commits while the event has room', async (t) => {
  const r = capCommitLists([['a', 'b', 'c', 'd', 'e'], ['a', 'b', 'c', 'd', 'e'], ['x']], 3);
  t.same(r.kept, [['c', 'd', 'e'], ['c', 'd', 'e'], []], 'shared commits cost nothing; no room left for x');
  t.same(r.detailed, ['c', 'd', 'e']);
  t.equal(r.total, 6);
});

t.test('within the cap everything is kept, in order', async (t) => {
  const r = capCommitLists([['a', 'b'], [], ['b', 'c']], 10);
  t.same(r.kept, [['a', 'b'], [], ['b', 'c']]);
  t.same(r.detailed, ['a', 'b', 'c']);
  t.equal(r.total, 3);
});

t.test('a later ref keeps only a contiguous newest run', async (t) => {
  t.same(capCommitLists([['p'], ['q', 'p', 'r']], 2).kept, [['p'], ['p', 'r']], 'an already detailed commit is free');
  t.same(capCommitLists([['p'], ['q', 'x', 'r']], 2).kept, [['p'], ['r']], 'stops at the first commit without room, never skips over it');
  t.same(capCommitLists([], 5), { kept: [], detailed: [], total: 0 });
});
