import { z } from 'zod';

/** A banned account. The ban itself takes a `ReasonBody` (members.ts). */
export const BanView = z.object({ username: z.string(), reason: z.string(), created_at: z.string() });
export type BanView = z.infer<typeof BanView>;

/** `GET /api/v1/bans`. */
export const BanList = z.object({ bans: z.array(BanView) });
export type BanList = z.infer<typeof BanList>;
