import { AccountView, Credentials, PasswordChange, RefreshTokenBody, Registration, SessionView } from '@alloquy/protocol/http';
import type { AccountService } from '../../accounts/account-service.js';
import { route, type ControlRoute } from '../route.js';
import { accountView, sessionView } from '../views/accounts.js';

/** Registration, sessions and the caller's own account. */
export function accountRoutes(accounts: AccountService): ControlRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/v1/accounts',
      summary: 'Register an account (open, invite-only or closed, by server configuration)',
      tag: 'accounts',
      auth: 'none',
      body: Registration,
      responses: { 201: AccountView },
      errors: [403, 409],
      async handler({ body }) {
        const account = await accounts.register(body.username, body.password, { invite: body.invite });
        return { status: 201, body: accountView(account) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/sessions',
      summary: 'Log in with username and password; returns an access token and a refresh token',
      tag: 'sessions',
      auth: 'none',
      body: Credentials,
      responses: { 200: SessionView },
      errors: [403, 429],
      async handler({ body, ip }) {
        const session = await accounts.login(body.username, body.password, { ip, via: 'http' });
        return { status: 200, body: sessionView(session) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/sessions/refresh',
      summary: 'Trade a refresh token for a new access token and a new refresh token (rotation)',
      tag: 'sessions',
      auth: 'none',
      body: RefreshTokenBody,
      responses: { 200: SessionView },
      errors: [401, 403],
      handler({ body }) {
        return { status: 200, body: sessionView(accounts.refresh(body.refresh_token)) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/sessions/logout',
      summary: 'End a session: its refresh token and every token rotated from it stop working',
      tag: 'sessions',
      auth: 'none',
      body: RefreshTokenBody,
      responses: { 204: null },
      handler({ body }) {
        accounts.logout(body.refresh_token);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/me',
      summary: 'The account the bearer token belongs to',
      tag: 'accounts',
      auth: 'user',
      responses: { 200: AccountView },
      handler({ account }) {
        return { status: 200, body: accountView(account) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/me/password',
      summary: 'Change your password; every other session of the account ends',
      tag: 'accounts',
      auth: 'user',
      body: PasswordChange,
      responses: { 204: null },
      errors: [429],
      async handler({ body, account, ip }) {
        await accounts.changePassword(account.id, body.current_password, body.new_password, { ip, via: 'http' });
        return { status: 204 };
      },
    }),
  ];
}
