/** The import graph of a bundle as esbuild's metafile lists it: each input file and what it imports. */
export type ImportGraph = Readonly<Record<string, { readonly imports: readonly { readonly path: string }[] }>>;

/**
 * The shortest import chain from an entry (an input nothing imports) to `target`, entry first:
 * what the browser-bundle checks print so a failure says how a forbidden import is reached.
 */
export function importChain(inputs: ImportGraph, target: string): string[] {
  const imported = new Set(Object.values(inputs).flatMap(({ imports }) => imports.map((edge) => edge.path)));
  const queue = Object.keys(inputs).filter((input) => !imported.has(input));
  const cameFrom = new Map<string, string | undefined>(queue.map((input) => [input, undefined]));
  for (let index = 0; index < queue.length; index++) {
    const current = queue[index]!;
    if (current === target) break;
    for (const edge of inputs[current]?.imports ?? []) {
      if (edge.path in inputs && !cameFrom.has(edge.path)) {
        cameFrom.set(edge.path, current);
        queue.push(edge.path);
      }
    }
  }
  const chain: string[] = [];
  for (let at: string | undefined = target; at !== undefined; at = cameFrom.get(at)) chain.unshift(at);
  return chain;
}
