/** Longest edge of each thumbnail: a chat-list preview, the inline preview, the lightbox. */
export const DEFAULT_THUMBNAIL_EDGES: readonly number[] = [160, 480, 1280];

/**
 * The longest edges to render for an image of this (display) size, ascending: each requested
 * edge, capped at the image's own longest edge (never upscaled), without duplicates. An image
 * smaller than a requested size gets one re-encoded copy at its own size instead, so every image
 * has at least one thumbnail and a small one is not stored three times.
 */
export function thumbnailEdges(width: number, height: number, edges: readonly number[] = DEFAULT_THUMBNAIL_EDGES): number[] {
  if (!(width > 0 && height > 0)) throw new RangeError(`bad image size ${width}x${height}`);
  const longest = Math.max(width, height);
  const planned = new Set<number>();
  for (const edge of edges) {
    if (!Number.isInteger(edge) || edge < 1) throw new RangeError(`bad thumbnail edge ${edge}`);
    planned.add(Math.min(edge, longest));
  }
  return [...planned].sort((a, b) => a - b);
}
