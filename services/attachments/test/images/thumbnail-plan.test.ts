import { describe, expect, it } from 'vitest';
import { thumbnailEdges } from '../../src/images/thumbnail-plan.js';

describe('thumbnailEdges', () => {
  it('plans every default size for a large image', () => {
    expect(thumbnailEdges(4000, 3000)).toEqual([160, 480, 1280]);
    expect(thumbnailEdges(1080, 1920)).toEqual([160, 480, 1280]);
  });

  it('never upscales: sizes above the image collapse into one at its own size', () => {
    expect(thumbnailEdges(800, 600)).toEqual([160, 480, 800]);
    expect(thumbnailEdges(300, 200)).toEqual([160, 300]);
    expect(thumbnailEdges(100, 80)).toEqual([100]);
    expect(thumbnailEdges(480, 10)).toEqual([160, 480]);
  });

  it('takes custom edges in any order and rejects nonsense', () => {
    expect(thumbnailEdges(2000, 1000, [640, 64])).toEqual([64, 640]);
    expect(() => thumbnailEdges(0, 10)).toThrow(RangeError);
    expect(() => thumbnailEdges(10, 10, [0])).toThrow(RangeError);
    expect(() => thumbnailEdges(10, 10, [1.5])).toThrow(RangeError);
  });
});
