import { CategoryCreate, CategoryList, CategoryPatch, CategoryView } from '@alloquy/protocol/http';
import type { GuildService } from '../../../guild/service.js';
import { route, type ControlRoute } from '../../route.js';
import { categoryView } from '../../views/categories.js';

/** Channel categories; their OpenAPI tag is the channels'. */
export function categoryRoutes(guild: GuildService): ControlRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/categories',
      summary: 'The channel categories',
      tag: 'channels',
      auth: 'user',
      responses: { 200: CategoryList },
      errors: [403],
      handler({ actor }) {
        return { status: 200, body: { categories: guild.listCategories(actor).map(categoryView) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/categories',
      summary: 'Create a category (MANAGE_CHANNELS)',
      tag: 'channels',
      auth: 'user',
      body: CategoryCreate,
      responses: { 201: CategoryView },
      errors: [403],
      handler({ body, actor }) {
        return { status: 201, body: categoryView(guild.createCategory(actor, { name: body.name, position: body.position })) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/v1/categories/{category}',
      summary: 'Rename or move a category (MANAGE_CHANNELS); by id or name',
      tag: 'channels',
      auth: 'user',
      body: CategoryPatch,
      responses: { 200: CategoryView },
      errors: [403, 404],
      handler({ params, body, actor }) {
        return { status: 200, body: categoryView(guild.updateCategory(actor, params.category, { name: body.name, position: body.position })) };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/categories/{category}',
      summary: 'Delete a category (MANAGE_CHANNELS); its channels stay, without a category',
      tag: 'channels',
      auth: 'user',
      responses: { 204: null },
      errors: [403, 404],
      handler({ params, actor }) {
        guild.deleteCategory(actor, params.category);
        return { status: 204 };
      },
    }),
  ];
}
