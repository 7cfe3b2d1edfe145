/** OpenAPI 3.1 `paths` of the asset routes (avatars, banners, guild icon, custom emoji). */

import { errorResponse } from '../uploads/openapi.js';

const imageBody = (what: string) => ({
  required: true,
  description: `${what}: the raw image bytes (PNG, JPEG, GIF or WebP, detected from the bytes whatever the Content-Type), at most 8 MiB.`,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, 'image/*': { schema: { type: 'string', format: 'binary' } } },
});

const storedImage = {
  description: 'The stored image',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['url', 'width', 'height', 'content_type', 'size'],
        properties: {
          url: { type: 'string', description: 'Public URL, with a version parameter that changes with the image' },
          width: { type: 'integer' },
          height: { type: 'integer' },
          content_type: { type: 'string', const: 'image/webp' },
          size: { type: 'integer' },
        },
      },
    },
  },
};

const uploadErrors = {
  400: errorResponse('`invalid_request`: empty body, bad emoji name'),
  401: errorResponse('`unauthorized` / `invalid_token`'),
  413: errorResponse('`payload_too_large`: more than 8 MiB'),
  415: errorResponse('`unsupported_media_type`: not PNG, JPEG, GIF or WebP'),
  422: errorResponse('`unprocessable_image`: undecodable, or over the pixel limit'),
  429: errorResponse('`too_many_requests`: too many images being processed'),
};

const publicImage = (summary: string, parameters: unknown[] = []) => ({
  get: {
    summary,
    description: 'No token needed. `Cache-Control: public, max-age=300`, `ETag` (conditional requests answer 304).',
    parameters,
    responses: { 200: { description: 'WebP image', content: { 'image/webp': {} } }, 304: { description: 'Not modified' }, 404: errorResponse('`not_found`') },
  },
});

const accountAsset = (kind: 'avatar' | 'banner', size: string) => ({
  put: {
    summary: `Set your ${kind} (normalised to a ${size} cover-cropped WebP)`,
    security: [{ bearer: [] }],
    requestBody: imageBody(`The ${kind}`),
    responses: { 200: storedImage, ...uploadErrors },
  },
  delete: {
    summary: `Remove your ${kind}`,
    security: [{ bearer: [] }],
    responses: { 204: { description: 'Removed' }, 401: errorResponse('`unauthorized` / `invalid_token`'), 404: errorResponse(`\`not_found\`: no ${kind}`) },
  },
});

const accountParameter = [{ name: 'file', in: 'path', required: true, schema: { type: 'string', pattern: '^.+\\.webp$' }, description: '`<account>.webp`' }];

export const ASSETS_OPENAPI_PATHS: Record<string, unknown> = {
  '/api/v1/me/avatar': accountAsset('avatar', '256×256'),
  '/api/v1/me/banner': accountAsset('banner', '960×540'),
  '/avatars/{file}': publicImage("An account's avatar", accountParameter),
  '/banners/{file}': publicImage("An account's banner", accountParameter),
  '/api/v1/guild/icon': {
    put: {
      summary: 'Set the server icon (256×256 WebP); needs MANAGE_GUILD',
      security: [{ bearer: [] }],
      requestBody: imageBody('The icon'),
      responses: { 200: storedImage, ...uploadErrors, 403: errorResponse('`forbidden`: no MANAGE_GUILD') },
    },
    delete: {
      summary: 'Remove the server icon; needs MANAGE_GUILD',
      security: [{ bearer: [] }],
      responses: { 204: { description: 'Removed' }, 403: errorResponse('`forbidden`: no MANAGE_GUILD'), 404: errorResponse('`not_found`: no icon') },
    },
  },
  '/guild/icon.webp': publicImage('The server icon'),
  '/api/v1/emoji': {
    get: {
      summary: 'The custom emoji (any signed-in member). IRC users see `:name:` as text; rich clients show the image.',
      security: [{ bearer: [] }],
      responses: {
        200: {
          description: 'Emoji by name',
          content: {
            'application/json': {
              schema: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['name', 'url', 'animated', 'created_by'],
                  properties: { name: { type: 'string' }, url: { type: 'string' }, animated: { type: 'boolean' }, created_by: { type: 'string' } },
                },
              },
            },
          },
        },
        401: errorResponse('`unauthorized` / `invalid_token`'),
      },
    },
    post: {
      summary: 'Add a custom emoji (128×128 WebP, animation kept); needs MANAGE_EMOJIS',
      security: [{ bearer: [] }],
      parameters: [{ name: 'name', in: 'query', required: true, schema: { type: 'string', pattern: '^[a-z0-9_]{2,32}$' } }],
      requestBody: imageBody('The emoji image'),
      responses: {
        201: { description: 'Added: `{name, url, animated, created_by}`' },
        ...uploadErrors,
        403: errorResponse('`forbidden`: no MANAGE_EMOJIS'),
        409: errorResponse('`conflict`: the name is taken'),
      },
    },
  },
  '/api/v1/emoji/{name}': {
    delete: {
      summary: 'Remove a custom emoji; needs MANAGE_EMOJIS',
      security: [{ bearer: [] }],
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 204: { description: 'Removed' }, 403: errorResponse('`forbidden`: no MANAGE_EMOJIS'), 404: errorResponse('`not_found`') },
    },
  },
  '/emoji/{file}': publicImage('A custom emoji image', [{ name: 'file', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9_]{2,32}\\.webp$' } }]),
};
