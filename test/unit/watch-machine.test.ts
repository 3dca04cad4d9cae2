import { describe, expect, it } from 'vitest';
import {
  INITIAL_WATCHER_STATE,
  nextWatcherState,
  type Changes,
  type WatcherEvent,
  type WatcherState,
} from '../../src/watch/watch-machine.js';
import { feed as feedAll } from '../support/feed.js';

const feed = (state: WatcherState, ...events: WatcherEvent[]) => feedAll(nextWatcherState, state, events);

const save = (path: string, change: 'add' | 'change' | 'unlink' = 'change'): WatcherEvent => ({ kind: 'saved', path, change });
const changes = (files: Record<string, 'add' | 'change' | 'unlink'>, everything = false): Changes => ({ files: new Map(Object.entries(files)), everything });
const built: WatcherEvent = { kind: 'built', blocked: false };
const blocked: WatcherEvent = { kind: 'built', blocked: true };

/** Watching, after a first build that went through: waiting for a save. */
const idle = feed(INITIAL_WATCHER_STATE, { kind: 'ready' }, built).state;

describe('the watcher', () => {
  it('builds everything once the files are being watched, then waits', () => {
    const r = feed(INITIAL_WATCHER_STATE, save('models/a.sql'), { kind: 'ready' }, built);
    // A save before the tree is read changes nothing: the first build reads every file.
    expect(r.effects[0]).toEqual([]);
    expect(r.effects[1]).toEqual([{ kind: 'announce' }, { kind: 'build', changes: changes({}, true) }]);
    expect(r.effects[2]).toEqual([{ kind: 'report-waiting' }]);
    expect(r.state).toEqual({ kind: 'idle' });
  });

  it('builds the saves of a quiet period together, with the kind of each change since the last build', () => {
    const r = feed(
      idle,
      save('models/a.sql', 'add'),
      save('models/b.sql'),
      save('models/b.sql', 'unlink'),
      save('models/a.sql'),
      save('models/sedX1f2Q', 'add'),
      save('models/c.sql', 'unlink'),
      save('models/c.sql', 'add'),
      save('models/sedX1f2Q', 'unlink'),
      { kind: 'quiet' },
    );
    expect(r.effects.slice(0, 8)).toEqual(Array(8).fill([{ kind: 'debounce' }]));
    // a.sql is new, b.sql gone; sed's file came and went, and no build saw it.
    expect(r.effects[8]).toEqual([{ kind: 'build', changes: changes({ 'models/a.sql': 'add', 'models/b.sql': 'unlink', 'models/c.sql': 'add' }) }]);
    expect(r.state.kind).toBe('building');
  });

  it('a save during a build queues another build, started when the build ends and the files are quiet', () => {
    const building = feed(idle, save('models/a.sql'), { kind: 'quiet' }).state;
    const r = feed(building, save('models/b.sql'), { kind: 'quiet' }, built);
    expect(r.effects[0]).toEqual([{ kind: 'debounce' }]);
    // The quiet period passed during the build: nothing to do yet.
    expect(r.effects[1]).toEqual([]);
    expect(r.effects[2]).toEqual([{ kind: 'report-waiting' }, { kind: 'build', changes: changes({ 'models/b.sql': 'change' }) }]);
    expect(r.state).toEqual({ kind: 'building', current: changes({ 'models/b.sql': 'change' }), settling: false });
  });

  it('a build that ends while the files are still settling waits for the quiet period', () => {
    const building = feed(idle, save('models/a.sql'), { kind: 'quiet' }).state;
    const r = feed(building, save('models/b.sql'), built, save('models/c.sql'), { kind: 'quiet' });
    expect(r.effects[1]).toEqual([{ kind: 'report-waiting' }]);
    expect(r.effects[3]).toEqual([{ kind: 'build', changes: changes({ 'models/b.sql': 'change', 'models/c.sql': 'change' }) }]);
  });

  it('a broken save blocks: its changes are held and built with the save that fixes it', () => {
    const building = feed(idle, save('macros/m.sql'), { kind: 'quiet' }).state;
    const r = feed(building, blocked);
    expect(r.effects[0]).toEqual([{ kind: 'report-waiting' }]);
    expect(r.state).toEqual({ kind: 'blocked', held: changes({ 'macros/m.sql': 'change' }) });
    // Another file is saved, still broken; then the fix.
    const fixed = feed(r.state, save('models/b.sql'), { kind: 'quiet' }, blocked, save('macros/m.sql'), { kind: 'quiet' });
    expect(fixed.effects[1]).toEqual([{ kind: 'build', changes: changes({ 'macros/m.sql': 'change', 'models/b.sql': 'change' }) }]);
    expect(fixed.effects[4]).toEqual([{ kind: 'build', changes: changes({ 'macros/m.sql': 'change', 'models/b.sql': 'change' }) }]);
    expect(feed(fixed.state, built).state).toEqual({ kind: 'idle' });
  });

  it('a broken first build builds everything when fixed', () => {
    const r = feed(INITIAL_WATCHER_STATE, { kind: 'ready' }, blocked, save('models/a.sql'), { kind: 'quiet' });
    expect(r.effects[3]).toEqual([{ kind: 'build', changes: changes({ 'models/a.sql': 'change' }, true) }]);
  });

  it('a save during a blocked build is built with the blocked changes once the build ends', () => {
    const building = feed(idle, save('models/a.sql'), { kind: 'quiet' }).state;
    const r = feed(building, save('models/b.sql'), { kind: 'quiet' }, blocked);
    expect(r.effects[2]).toEqual([{ kind: 'report-waiting' }, { kind: 'build', changes: changes({ 'models/a.sql': 'change', 'models/b.sql': 'change' }) }]);
  });

  it('stop during a build waits for it to roll back, then closes: no other build, no waiting', () => {
    const building = feed(idle, save('models/a.sql'), { kind: 'quiet' }).state;
    const r = feed(building, { kind: 'stop' }, save('models/b.sql'), { kind: 'quiet' }, built);
    expect(r.effects[0]).toEqual([{ kind: 'cancel-debounce' }]);
    expect(r.effects[1]).toEqual([]);
    expect(r.effects[2]).toEqual([]);
    expect(r.effects[3]).toEqual([{ kind: 'close' }]);
    expect(r.state).toEqual({ kind: 'stopped' });
  });

  it('stop between builds closes at once, cancelling a quiet period', () => {
    expect(feed(idle, { kind: 'stop' }).effects).toEqual([[{ kind: 'cancel-debounce' }, { kind: 'close' }]]);
    const r = feed(idle, save('models/a.sql'), { kind: 'stop' }, { kind: 'quiet' });
    expect(r.effects.slice(1)).toEqual([[{ kind: 'cancel-debounce' }, { kind: 'close' }], []]);
    expect(feed(INITIAL_WATCHER_STATE, { kind: 'stop' }, { kind: 'ready' }).effects).toEqual([[{ kind: 'close' }], []]);
  });

  it('a build that crashes ends watching with its error', () => {
    const error = new Error('disk full');
    const building = feed(idle, save('models/a.sql'), { kind: 'quiet' }).state;
    expect(feed(building, { kind: 'crashed', error }).effects).toEqual([[{ kind: 'cancel-debounce' }, { kind: 'close', error }]]);
  });

  it('an event that cannot happen is an internal error', () => {
    expect(() => nextWatcherState(idle, built)).toThrow("internal error: 'built' while idle");
    expect(() => nextWatcherState(idle, { kind: 'ready' })).toThrow('internal error');
  });
});
