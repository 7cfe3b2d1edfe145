import type { CategoryView } from '@alloquy/protocol/http';
import type { Category } from '../../guild/model.js';

export function categoryView(c: Category): CategoryView {
  return { id: c.id, name: c.name, position: c.position };
}
