import { describe, expect, it } from 'vitest';
import { settingRenderer } from '../../src/analyze/dbt/setting-render.js';
import { TemplateEngine } from '../../src/analyze/template-engine.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';

const engine = new TemplateEngine([], ['ds'], { invocation: { id: 'run', startedAt: 0 } });
const day = dayInterval(parseDate('2024-01-02')!);
const at = (file: string, line: number) => ({ file, line });

describe('a config value written in YAML', () => {
  it('renders with the vars it is given, one expression keeping its type, wherever it is written', () => {
    const diagnostics: Diagnostic[] = [];
    const render = settingRenderer(engine, { n: 3, on: false }, day, diagnostics);
    expect(render("{{ var('n') }}", at('models/a.yml', 4))).toBe(3);
    expect(render("{{ var('n') }}", at('models/b.yml', 9))).toBe(3);
    expect(render("{{ var('on') }}", at('models/b.yml', 10))).toBe(false);
    expect(render("raw_{{ var('n') }}_{{ ds }}", at('models/b.yml', 11))).toBe('raw_3_2024-01-02');
    expect(diagnostics).toEqual([]);
  });

  it('that fails is reported at each place it is written, once a place', () => {
    const diagnostics: Diagnostic[] = [];
    const render = settingRenderer(engine, {}, day, diagnostics);
    const text = "{{ var('schema_of_nothing') }}";
    render(text, at('dbt_project.yml', 12));
    render(text, at('dbt_project.yml', 12));
    render(text, at('models/a.yml', 3));
    render('{{ oops(', at('models/a.yml', 5));
    expect(diagnostics.map((d) => [d.location.file, d.location.line, d.severity])).toEqual([
      ['dbt_project.yml', 12, 'error'],
      ['models/a.yml', 3, 'error'],
      ['models/a.yml', 5, 'error'],
    ]);
    expect(diagnostics[0].message).toContain("var 'schema_of_nothing' is not set");
    expect(diagnostics[1].message).toBe(diagnostics[0].message);
  });
});
