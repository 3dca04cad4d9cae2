/**
 * dbt's snapshot files: `{% snapshot name %} ... {% endsnapshot %}` blocks, each a snapshot
 * whose query (with its `config()` call) is the block's body. A block is read as dbt reads it:
 * at the top level of the file, not nested, closed before the file ends; text between blocks is
 * not a snapshot.
 */

/** One block: its name and where its body stands in the file. */
export interface SnapshotBlock {
  readonly name: string;
  /** Line of the opening tag (1-based). */
  readonly line: number;
  /** The body, from just after the opening tag to the closing tag, as offsets in the text. */
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

/** What is wrong with a file's blocks, at a line. */
export interface BlockProblem {
  readonly message: string;
  readonly line: number;
}

export interface SnapshotFile {
  readonly blocks: readonly SnapshotBlock[];
  readonly problems: readonly BlockProblem[];
  /** Whether anything but whitespace and comments (Jinja's, SQL's) stands outside the blocks. */
  readonly textOutside: boolean;
}

/** A tag of a snapshot block, with Jinja's whitespace control (`{%-`, `-%}`). */
const TAG_RE = /\{%-?\s*(snapshot|endsnapshot)\b([\s\S]*?)-?%\}|\{#[\s\S]*?#\}/g;
const SQL_COMMENT_RE = /--[^\n\r]*|\/\*[\s\S]*?\*\//g;
const NAME_RE = /^\s*([\p{L}_][\p{L}\p{N}_$-]*)\s*$/u;

const lineAt = (text: string, offset: number) => {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
};

export function snapshotBlocks(text: string): SnapshotFile {
  const blocks: SnapshotBlock[] = [];
  const problems: BlockProblem[] = [];
  let open: { name: string; line: number; bodyStart: number } | undefined;
  let outside = '';
  let last = 0;
  for (const m of text.matchAll(TAG_RE)) {
    const at = m.index;
    if (m[1] === undefined) {
      // A Jinja comment: a tag inside it is no tag.
      if (!open) {
        outside += text.slice(last, at);
        last = at + m[0].length;
      }
      continue;
    }
    if (m[1] === 'snapshot') {
      if (open) {
        problems.push({ message: `a snapshot block cannot hold another: '${open.name}' (line ${open.line}) is not closed before this one`, line: lineAt(text, at) });
        continue;
      }
      const name = NAME_RE.exec(m[2] ?? '');
      outside += text.slice(last, at);
      if (!name) {
        problems.push({ message: `a snapshot block needs a name: {% snapshot NAME %}, got {%${m[0].slice(2, -2)}%}`, line: lineAt(text, at) });
        open = { name: '', line: lineAt(text, at), bodyStart: at + m[0].length };
        continue;
      }
      open = { name: name[1], line: lineAt(text, at), bodyStart: at + m[0].length };
      continue;
    }
    if (!open) {
      problems.push({ message: '{% endsnapshot %} without a {% snapshot %} block before it', line: lineAt(text, at) });
      continue;
    }
    if (open.name !== '') blocks.push({ name: open.name, line: open.line, bodyStart: open.bodyStart, bodyEnd: at });
    open = undefined;
    last = at + m[0].length;
  }
  if (open) {
    problems.push({ message: `snapshot block '${open.name}' is not closed: {% endsnapshot %} is missing`, line: open.line });
  } else {
    outside += text.slice(last);
  }
  // SQL comments between blocks (a header, a block commented out with --) are no text either.
  return { blocks, problems, textOutside: outside.replace(SQL_COMMENT_RE, '').trim() !== '' };
}

/**
 * The file's text with everything but the block's body blanked: the snapshot's query stands at
 * the lines and columns it has in the file, so every error about it points into the file.
 * (CRLF line ends stay in the body; the blanked lines keep their `\n` alone.)
 */
export function blockText(text: string, block: SnapshotBlock): string {
  const before = text.slice(0, block.bodyStart);
  const lineStart = before.lastIndexOf('\n') + 1;
  // Lines before the body's are left empty; on its first line, spaces keep its columns.
  const blank = before.slice(0, lineStart).replace(/[^\n]/g, '') + ' '.repeat(before.length - lineStart);
  return blank + text.slice(block.bodyStart, block.bodyEnd) + text.slice(block.bodyEnd).replace(/[^\n]/g, '');
}
