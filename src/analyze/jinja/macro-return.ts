import nunjucks from 'nunjucks';
import { TemplateFunctionError } from '../template-engine.js';

/**
 * dbt's `return(value)`: the macro's value is `value`, of any type (a list, a number, a
 * relation name), instead of the text it outputs. Every macro Nunjucks makes is wrapped so
 * that a call keeps a slot on a stack while it runs; `return()` fills the innermost slot, and
 * the macro's value is then the slot's. The first `return()` of a call decides its value: as
 * Jinja stops the macro there, whatever the macro outputs after it is dropped.
 */

interface Call {
  returned: boolean;
  value: unknown;
}

/** Rendering is synchronous: one stack serves every template of the process. */
const calls: Call[] = [];
let installed = false;

type Runtime = { makeMacro(argNames: string[], kwargNames: string[], func: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown };

function installMacroWrapper(): void {
  if (installed) return;
  installed = true;
  const runtime = (nunjucks as unknown as { runtime: Runtime }).runtime;
  const makeMacro = runtime.makeMacro;
  runtime.makeMacro = (argNames, kwargNames, func) => {
    const macro = makeMacro(argNames, kwargNames, func);
    return function (this: unknown, ...args: unknown[]) {
      const call: Call = { returned: false, value: undefined };
      calls.push(call);
      try {
        const output = macro.apply(this, args);
        return call.returned ? call.value : output;
      } finally {
        calls.pop();
      }
    };
  };
}

/** `return` as a global of `env`. */
export function installReturn(env: nunjucks.Environment): void {
  installMacroWrapper();
  env.addGlobal('return', (value: unknown) => {
    const call = calls[calls.length - 1];
    if (!call) throw new TemplateFunctionError('return() can only be used inside a macro');
    if (!call.returned) {
      call.returned = true;
      call.value = value;
    }
    return '';
  });
}
