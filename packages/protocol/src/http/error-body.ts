import { z } from 'zod';

/** Every Alloquy HTTP API answers a failure with this body and a 4xx or 5xx status. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe('stable machine-readable code'),
    message: z.string().describe('human-readable explanation'),
  }),
});

export type ErrorBodyValue = z.infer<typeof ErrorBody>;
