import { describe, expect, it } from 'vitest';
import { pythonConfig } from '../../src/analyze/dbt/python-config.js';

/** A Python model's dbt.config() calls, read from its code as dbt reads their literal arguments. */
describe("a Python model's dbt.config()", () => {
  it('gives its tags (a text or a list, added up over calls) and enabled, past comments and strings that look like calls', () => {
    const code = [
      'import pandas as pd',
      '# dbt.config(tags=["commented"])',
      'NOTE = """dbt.config(enabled=False)"""',
      'def model(dbt, session):',
      "    dbt.config(materialized='table', tags='daily', packages=['pandas'])",
      '    dbt.config(',
      '        tags=["py", \'finance\'],  # trailing',
      '        enabled=True,',
      '    )',
      '    return dbt.ref("orders").df()',
    ].join('\n');
    expect(pythonConfig(code)).toEqual({ tags: ['daily', 'py', 'finance'], enabled: true });
    expect(pythonConfig('def model(dbt, session):\n    dbt.config(enabled=False)\n    return None\n')).toEqual({ enabled: false });
    // Written in a string (a docstring, a note), it is no call.
    expect(pythonConfig('def model(dbt, session):\n    \"\"\"Call dbt.config(enabled=False) to switch it off.\"\"\"\n    note = "dbt.config(tags=[\'x\'])"\n    return None\n')).toEqual({});
  });

  it('leaves out what is not a literal, as dbt refuses it: the arguments before it count', () => {
    expect(pythonConfig('def model(dbt, session):\n    dbt.config(tags=["a"], enabled=dbt.config.get("x"))\n')).toEqual({ tags: ['a'] });
    expect(pythonConfig('def model(dbt, session):\n    return 1\n')).toEqual({});
  });
});
