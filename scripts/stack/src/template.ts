/**
 * The small template language of Alloquy's config files:
 *
 *   {{name}}                 replaced by a value, escaped by the caller's escaper
 *   {{#flag}} ... {{/flag}}  kept when the flag is true, dropped otherwise
 *
 * Deliberately strict: an unknown placeholder, a missing value or an unclosed
 * section is an error, because a daemon started with a half-rendered config
 * fails far from the cause (or, worse, starts with a literal "{{...}}").
 */
export type TemplateValues = Readonly<Record<string, string | number>>;
export type TemplateFlags = Readonly<Record<string, boolean>>;

export interface RenderOptions {
  values: TemplateValues;
  flags?: TemplateFlags;
  /** Applied to every substituted value (e.g. config-syntax quoting). */
  escape?: (value: string, name: string) => string;
}

const SECTION = /\{\{([#/])\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;
const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

export function renderTemplate(template: string, options: RenderOptions): string {
  const flags = options.flags ?? {};
  const withSections = renderSections(template, flags);
  const escape = options.escape ?? ((value: string) => value);
  const missing = new Set<string>();
  const rendered = withSections.replace(PLACEHOLDER, (_match, name: string) => {
    const value = options.values[name];
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return escape(String(value), name);
  });
  if (missing.size > 0) {
    throw new Error(`template placeholders without a value: ${[...missing].join(', ')}`);
  }
  const leftover = /\{\{[^}]*\}\}/.exec(rendered);
  if (leftover !== null) throw new Error(`malformed template tag ${leftover[0]}`);
  return rendered;
}

function renderSections(template: string, flags: TemplateFlags): string {
  let output = '';
  // Each entry: the flag that opened the section and whether its content is kept.
  const open: { name: string; keep: boolean }[] = [];
  let cursor = 0;
  for (const match of template.matchAll(SECTION)) {
    const [tag, kind, name] = match as unknown as [string, '#' | '/', string];
    const start = match.index;
    const keeping = open.every((section) => section.keep);
    if (keeping) output += template.slice(cursor, start);
    // A section tag alone on its line takes its line break with it, so sections
    // do not leave blank lines behind.
    let end = start + tag.length;
    const lineStart = template.lastIndexOf('\n', start - 1) + 1;
    if (template.slice(lineStart, start).trim() === '' && template[end] === '\n') {
      if (keeping) output = output.slice(0, output.length - (start - Math.max(cursor, lineStart)));
      end += 1;
    }
    cursor = end;
    if (kind === '#') {
      const flag = flags[name];
      if (flag === undefined) throw new Error(`template section {{#${name}}} has no flag value`);
      open.push({ name, keep: flag });
    } else {
      const closing = open.pop();
      if (closing?.name !== name) {
        throw new Error(`template section {{/${name}}} closes ${closing ? `{{#${closing.name}}}` : 'nothing'}`);
      }
    }
  }
  if (open.length > 0) throw new Error(`template section {{#${open[open.length - 1]!.name}}} is never closed`);
  return output + template.slice(cursor);
}
