import { routeDeclarer, type Route } from '@alloquy/service-kit/http';
import type { Account } from '../accounts/account-service.js';
import type { Actor } from '../guild/service.js';

/** Who calls an authenticated route of the control API: the account and its guild actor. */
export interface ControlCaller {
  account: Account;
  actor: Actor;
}

export type ControlRoute = Route<ControlCaller>;

/** Declares a control API route: its handler gets the caller's account and actor when `auth` needs one. */
export const route = routeDeclarer<ControlCaller>();
