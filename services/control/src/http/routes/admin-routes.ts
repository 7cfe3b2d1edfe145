import { AccountList, AccountView, RegistrationInviteCreate, RegistrationInviteView } from '@alloquy/protocol/http';
import type { AccountService } from '../../accounts/account-service.js';
import { route, type ControlRoute } from '../route.js';
import { accountView, registrationInviteView } from '../views/accounts.js';

/** What the server's admins may do over HTTP; the operator CLI does the same locally. */
export function adminRoutes(accounts: AccountService): ControlRoute[] {
  const setDisabled = (disabled: boolean) =>
    route({
      method: 'post',
      path: `/api/v1/accounts/{username}/${disabled ? 'disable' : 'enable'}`,
      summary: disabled ? 'Disable an account: its sessions end and it is logged out everywhere' : 'Enable a disabled account',
      tag: 'admin',
      auth: 'admin',
      responses: { 200: AccountView },
      errors: [404],
      handler({ params }) {
        return { status: 200, body: accountView(accounts.setDisabled(params.username, disabled)) };
      },
    });
  return [
    route({
      method: 'get',
      path: '/api/v1/accounts',
      summary: 'List every account',
      tag: 'admin',
      auth: 'admin',
      responses: { 200: AccountList },
      handler() {
        return { status: 200, body: { accounts: accounts.list().map(accountView) } };
      },
    }),
    setDisabled(true),
    setDisabled(false),
    route({
      method: 'post',
      path: '/api/v1/registration-invites',
      summary: 'Create an invite code for registration on an invite-only server',
      tag: 'admin',
      auth: 'admin',
      body: RegistrationInviteCreate,
      responses: { 201: RegistrationInviteView },
      handler({ body, account }) {
        const invite = accounts.createInvite({ createdBy: account.id, maxUses: body.max_uses, expiresInSeconds: body.expires_in });
        return { status: 201, body: registrationInviteView(invite) };
      },
    }),
  ];
}
