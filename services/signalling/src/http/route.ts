import { routeDeclarer, type RouteTable } from '@alloquy/service-kit/http';
import type { Identity } from '../authz/voice-access.js';

/** Who calls an authenticated signalling route: the account the control server says the bearer token stands for. */
export interface SignallingCaller {
  identity: Identity;
}

export type SignallingRouteTable = RouteTable<SignallingCaller>;

/** Declares a signalling HTTP route: its handler gets the caller's identity when `auth` needs one. */
export const route = routeDeclarer<SignallingCaller>();
