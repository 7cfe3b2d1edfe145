import { open } from 'node:fs/promises';

/** The last `maxLines` lines of a file ('' when it does not exist), read without loading all of it. */
export async function tailFile(path: string, maxLines = 40, maxBytes = 64 * 1024): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return lastLines(buffer.toString('utf8'), maxLines);
  } finally {
    await handle.close();
  }
}

export function lastLines(text: string, maxLines: number): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-maxLines).join('\n');
}

/** Keeps the last lines written to it, for "here is what it said before it died" messages. */
export class LineRing {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly capacity: number) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.capacity) this.lines.shift();
    }
  }

  text(): string {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return all.slice(-this.capacity).join('\n');
  }
}
