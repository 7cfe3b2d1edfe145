import { z } from 'zod';

/** A channel category. */
export const CategoryView = z.object({ id: z.string(), name: z.string(), position: z.number().int() });
export type CategoryView = z.infer<typeof CategoryView>;

/** `GET /api/v1/categories`. */
export const CategoryList = z.object({ categories: z.array(CategoryView) });
export type CategoryList = z.infer<typeof CategoryList>;

/** `POST /api/v1/categories`. */
export const CategoryCreate = z.strictObject({
  name: z.string().min(1).max(64),
  position: z.number().int().min(0).max(1_000_000).optional(),
});
export type CategoryCreate = z.input<typeof CategoryCreate>;

/** `PATCH /api/v1/categories/{category}`. */
export const CategoryPatch = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  position: z.number().int().min(0).max(1_000_000).optional(),
});
export type CategoryPatch = z.input<typeof CategoryPatch>;
