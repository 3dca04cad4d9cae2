import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explain, removeTempDirs, RunningPipe, tempDir, writeProjectFiles } from './helpers.js';
import { exited, holdLatch, liveMembers, processGroupOf } from '../processes.js';

afterAll(removeTempDirs);

describe('notify commands do not keep pipe alive', () => {
  it('a command that forks a process holding its output is killed with it at its timeout, and pipe exits', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const latch = holdLatch(dir);
    writeProjectFiles(dir, {
      'models/m.sql': 'select 1 as n\n',
      // Time enough for the script to fork its process (the test reads what that one writes), not more:
      // pipe waits out the whole timeout before it kills them.
      'pipelines/p.yaml': 'notify:\n  on_success:\n    - command: ./notify.sh\n      timeout: 500ms\n',
      // The first attempt leaves a process on its stdout and stderr and hangs; the second succeeds.
      'notify.sh': `#!/bin/sh
if [ -e attempted ]; then exit 0; fi
: > attempted
sh -c 'echo $$ > grandchild.pid; cut -d" " -f5 /proc/$$/stat > grandchild.pgid; exec sleep 300' 3> '${latch.path}' &
wait
`,
    });
    chmodSync(join(dir, 'notify.sh'), 0o755);
    const r = await new RunningPipe(['run', 'p', '--date', '2024-01-02', '--json', '--project', dir]).exited;
    expect(r.code, explain(r)).toBe(0);
    await latch.released;
    await exited(Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8')));
    const group = Number(readFileSync(join(dir, 'grandchild.pgid'), 'utf8'));
    expect(group).not.toBe(processGroupOf(process.pid));
    expect(liveMembers(group)).toEqual([]);
  });
});
