/**
 * The first line of a message for a one-line summary (a history row, a failure's group): where
 * a value the message quotes holds a line break (`Could not convert string 'first\nsecond'`),
 * the line runs on to the quote's end, the break written `\n`. A quote left open to the end
 * (an apostrophe in words) leaves the first line as it is.
 */
export function firstLine(message: string): string {
  const lines = message.split('\n');
  let head = lines[0];
  let quotes = quotesIn(head);
  for (let i = 1; quotes % 2 === 1 && i < lines.length; i++) {
    quotes += quotesIn(lines[i]);
    if (quotes % 2 === 0) return `${head}\\n${lines.slice(1, i + 1).join('\\n')}`;
  }
  return head;
}

function quotesIn(line: string): number {
  let n = 0;
  for (const c of line) if (c === "'") n++;
  return n;
}
