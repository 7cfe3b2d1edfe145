import { z } from 'zod';
import { InvalidPermissionsError, PERMISSION_NAMES, parsePermissions, permissionsFromNames } from '../../permissions/index.js';

/*
 * Permission sets travel as decimal strings (`"65538"`, like Discord's API: JSON numbers lose bits
 * past 2^53). On input an array of flag names is accepted too; every output carries both the
 * string and the names.
 */

const DECIMAL = /^(?:0|[1-9][0-9]{0,39})$/;

/** A permission set on input: `"65538"` or `["VIEW_CHANNEL", "SEND_MESSAGES"]`. Parsed to a bigint. */
export const PermissionsInput = z
  .union(
    [
      z.string().regex(DECIMAL, 'a permission set is a decimal string such as "65538"'),
      z
        .array(z.string().max(64))
        .max(PERMISSION_NAMES.length)
        .describe(`permission names: ${PERMISSION_NAMES.join(', ')}`),
    ],
    { error: 'a permission set is a decimal string such as "65538" or an array of permission names' },
  )
  .transform((value, ctx) => {
    try {
      return typeof value === 'string' ? parsePermissions(value) : permissionsFromNames(value);
    } catch (err) {
      if (!(err instanceof InvalidPermissionsError)) throw err;
      ctx.issues.push({ code: 'custom', message: err.message, input: value });
      return z.NEVER;
    }
  });
/** What a client sends for a permission set. */
export type PermissionsInput = z.input<typeof PermissionsInput>;

/** Flag names, in ascending bit order. */
export const PermissionNameList = z.array(z.enum(PERMISSION_NAMES));
export type PermissionNameList = z.infer<typeof PermissionNameList>;

/** A permission set on output: the decimal string and its flag names. Views spread its shape. */
export const PermissionSetView = z.object({
  permissions: z.string().describe('decimal string of permission bits'),
  permission_names: PermissionNameList,
});
export type PermissionSetView = z.infer<typeof PermissionSetView>;
