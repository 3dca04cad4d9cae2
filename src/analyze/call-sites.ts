import { positionOf } from './diagnostics.js';
import { escapeRegExp } from './sql-text.js';

/**
 * Where a model's text calls `ref('name')` and `config(`, for diagnostics. Found once per
 * text (watch mode keeps it with the model's cached template) in one scan, instead of one
 * regular expression per ref per analysis.
 */
export class CallSites {
  private refs?: Map<string, number>;
  private lineStarts?: number[];
  private configAt?: number | null;

  constructor(private readonly source: string) {}

  /** 1-based position of the first `ref('name')` (either quote), if the text has one. */
  ref(name: string): { line: number; column: number } | undefined {
    // A name holding a quote cannot be captured by the scan below: search for it alone.
    if (name.includes("'") || name.includes('"')) {
      const m = new RegExp(`\\bref\\s*\\(\\s*['"]${escapeRegExp(name)}['"]`).exec(this.source);
      return m ? positionOf(this.source, m.index) : undefined;
    }
    if (!this.refs) {
      this.refs = new Map();
      const re = /\bref\s*\(\s*['"]([^'"]*)['"]/g;
      let m: RegExpExecArray | null;
      while ((m = re.exec(this.source))) {
        if (!this.refs.has(m[1])) this.refs.set(m[1], m.index);
        // Matches may overlap, as a search for each name on its own would find them.
        re.lastIndex = m.index + 1;
      }
    }
    const at = this.refs.get(name);
    return at === undefined ? undefined : this.position(at);
  }

  /** 1-based position of the first `config(` call, if any. */
  config(): { line: number; column: number } | undefined {
    if (this.configAt === undefined) this.configAt = /\bconfig\s*\(/.exec(this.source)?.index ?? null;
    return this.configAt === null ? undefined : this.position(this.configAt);
  }

  /** What positionOf gives, by a binary search over the line starts. */
  private position(offset: number): { line: number; column: number } {
    if (!this.lineStarts) {
      this.lineStarts = [0];
      for (let i = 0; i < this.source.length; i++) if (this.source.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  }
}
