import type { Program, Target } from './program.js';

/**
 * A program read back from disk (see template-program-cache.ts) is checked whole before it
 * runs: every part of a known kind and shape, every slot within the program's, and a break
 * or continue only where the converter puts one. A damaged or foreign one is refused, never run.
 */

const isAt = (v: unknown): boolean => Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && Number.isSafeInteger(v[1]);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Checks what a program's parts are, against how many slots it has. */
class ProgramCheck {
  constructor(private readonly slots: number) {}

  private slot(v: unknown): boolean {
    return Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < this.slots;
  }

  private exprs(v: unknown): boolean {
    return Array.isArray(v) && v.every((x) => this.expr(x));
  }

  private args(v: unknown): boolean {
    if (!isObj(v) || !this.exprs(v.items)) return false;
    if (v.spread === undefined) return true;
    const s = v.spread;
    return isObj(s) && (s.star === null || this.expr(s.star)) && (s.doubleStar === null || this.expr(s.doubleStar)) && isAt(s.at);
  }

  private target(v: unknown): boolean {
    return isObj(v) && isStr(v.name) && (v.slot === null || this.slot(v.slot));
  }

  expr(e: unknown): boolean {
    if (!isObj(e)) return false;
    switch (e.t) {
      case 'lit':
        return e.v === null || isStr(e.v) || typeof e.v === 'boolean' || (typeof e.v === 'number' && Number.isFinite(e.v));
      case 'float':
        return typeof e.v === 'number' && Number.isInteger(e.v);
      case 'slot':
        return this.slot(e.i);
      case 'name':
        return isStr(e.n);
      case 'list':
      case 'tuple':
        return this.exprs(e.items);
      case 'dict':
        return (
          Array.isArray(e.entries) &&
          e.entries.every((x) => Array.isArray(x) && x.length === 2 && ((isStr(x[0]) && x[0] !== '__proto__') || (isObj(x[0]) && this.expr(x[0].e) && isAt(x[0].at))) && this.expr(x[1]))
        );
      case 'kwargs':
        return Array.isArray(e.entries) && e.entries.every((x) => Array.isArray(x) && x.length === 2 && isStr(x[0]) && x[0] !== '__proto__' && this.expr(x[1]));
      case 'op':
        return isStr(e.op) && this.expr(e.l) && this.expr(e.r) && isAt(e.at);
      case 'unary':
        return (e.op === '-' || e.op === '+') && this.expr(e.e) && isAt(e.at);
      case 'not':
      case 'truth':
        return this.expr(e.e);
      case 'and':
      case 'or':
        return this.expr(e.l) && this.expr(e.r);
      case 'compare':
        return this.expr(e.e) && Array.isArray(e.ops) && e.ops.every((x) => Array.isArray(x) && x.length === 2 && isStr(x[0]) && this.expr(x[1])) && isAt(e.at);
      case 'in':
        return this.expr(e.l) && this.expr(e.r) && isAt(e.at);
      case 'is':
        return isStr(e.name) && this.exprs(e.args) && isAt(e.at);
      case 'cond':
        return this.expr(e.cond) && this.expr(e.then) && (e.else === null || this.expr(e.else));
      case 'getattr':
      case 'getitem':
        return this.expr(e.target) && this.expr(e.key) && isAt(e.at);
      case 'slice':
        return this.expr(e.target) && this.expr(e.start) && this.expr(e.stop) && this.expr(e.step) && isAt(e.at);
      case 'call':
        return this.expr(e.fn) && isStr(e.name) && this.args(e.args) && isAt(e.at);
      case 'filter':
        return isStr(e.name) && this.args(e.args) && isAt(e.at);
      case 'loop':
        return this.expr(e.e) && Number.isSafeInteger(e.names) && isAt(e.at);
      case 'capture':
        return this.body(e.body, false);
      default:
        return false;
    }
  }

  /** Statements; `inLoop`: whether a break or continue may stand here (the converter's rule). */
  body(v: unknown, inLoop: boolean): boolean {
    return Array.isArray(v) && v.every((s) => this.stmt(s, inLoop));
  }

  private stmt(s: unknown, inLoop: boolean): boolean {
    if (!isObj(s)) return false;
    switch (s.t) {
      case 'text':
        return isStr(s.s);
      case 'out':
        return this.expr(s.e) && (s.at === null || isAt(s.at));
      case 'set':
        return Array.isArray(s.targets) && s.targets.every((t) => this.target(t)) && this.expr(s.value);
      case 'unpack':
        return Array.isArray(s.targets) && s.targets.every((t) => this.target(t)) && this.expr(s.value) && isAt(s.at);
      case 'setattr':
        return this.expr(s.target) && isStr(s.attr) && this.expr(s.value) && isAt(s.at);
      case 'do':
        return this.expr(s.e);
      case 'if':
        return this.expr(s.cond) && this.body(s.then, inLoop) && (s.else === null || this.body(s.else, inLoop));
      case 'scope':
        return this.body(s.body, inLoop);
      case 'break':
      case 'continue':
        return inLoop;
      case 'for': {
        if (!this.expr(s.source) || !this.body(s.body, true) || !(s.else === null || this.body(s.else, false))) return false;
        const one = s.one;
        const many = s.many;
        if (one !== null) return many === null && isObj(one) && isStr(one.name) && this.slot(one.slot);
        return (
          isObj(many) && Array.isArray(many.slots) && many.slots.length >= 2 && many.slots.every((x) => this.slot(x)) &&
          Array.isArray(many.frameNames) && many.frameNames.length === many.slots.length && many.frameNames.every(isStr) &&
          this.target(many.key) && this.target(many.value) && (many.key as Target).slot !== null && (many.value as Target).slot !== null &&
          this.body(many.objectBody, true)
        );
      }
      default:
        return false;
    }
  }
}

/** Whether `value` (a program read back from its JSON) is a whole program: every part of a known kind and shape. */
export function isProgram(value: unknown): value is Program {
  if (!isObj(value) || !Number.isSafeInteger(value.slots) || (value.slots as number) < 0) return false;
  return new ProgramCheck(value.slots as number).body(value.body, false);
}
