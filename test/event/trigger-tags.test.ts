import t from 'tap';
import { compileTriggerTagMatcher, DEFAULT_TRIGGER_TAGS, findTriggerTags } from '../../src/event/trigger-tags.ts';

t.test('default tags: #ci, #build, #jenkins, #jenkins:Job, [skip ci], [ci skip]', async (t) => {
  t.same(findTriggerTags('GAME-456: New animations #ci'), ['#ci']);
  t.same(findTriggerTags('#build then #jenkins'), ['#build', '#jenkins']);
  t.same(findTriggerTags('run #jenkins:GameBuild please'), ['#jenkins:GameBuild'], 'job form wins over plain #jenkins');
  t.same(findTriggerTags('#jenkins:Nightly.Build. and #JENKINS:other-job'), ['#jenkins:Nightly.Build', '#jenkins:other-job']);
  t.same(findTriggerTags('docs only [skip ci]'), ['[skip ci]']);
  t.same(findTriggerTags('docs only [CI SKIP]'), ['[ci skip]'], 'case-insensitive, reported in configured spelling');
  t.same(findTriggerTags('#CI #ci'), ['#ci'], 'unique');
  t.same(findTriggerTags('(#ci)\n#build.'), ['#ci', '#build']);
});

t.test('no false positives', async (t) => {
  t.same(findTriggerTags('#cicd #builder issue#ci ##ci #ci-cd [skip  ci] skip ci'), []);
  t.same(findTriggerTags('#jenkins: no job'), ['#jenkins']);
});

t.test('the list is configurable', async (t) => {
  const m = compileTriggerTagMatcher(['#deploy', '#deploy:<Env>', '[no ci]']);
  t.same(m('#ci #deploy:prod [no ci]'), ['#deploy:prod', '[no ci]']);
  t.same(compileTriggerTagMatcher(['#jenkins'])('#jenkins:Job'), ['#jenkins'], 'without the job form, plain tag is reported');
  t.ok(DEFAULT_TRIGGER_TAGS.includes('#jenkins:<Job>'));
});
