import { rawRouteDeclarer, routeDeclarer, type RouteTable } from '@alloquy/service-kit/http';
import type { Principal } from '../authz/authorizer.js';

/**
 * Who calls an authenticated attachments route (`auth: 'user'`): the account the control server
 * says the bearer token stands for. Routes whose own question to the control server checks the
 * token (may this bearer upload into that channel? manage emoji?) declare `auth: 'token'`
 * instead and get the token, so the control server is asked once.
 */
export interface AttachmentsCaller {
  principal: Principal;
}

export type AttachmentsRouteTable = RouteTable<AttachmentsCaller>;

/** Declares a JSON route (the kit reads the request and sends the answer). */
export const route = routeDeclarer<AttachmentsCaller>();

/** Declares a raw route: multipart and tus uploads, files, images; the handler answers through `res`. */
export const rawRoute = rawRouteDeclarer<AttachmentsCaller>();

/** Causes many routes share, spelled once for their OpenAPI `errors`. */
export const UNAUTHORIZED = '`unauthorized`: no bearer token; `invalid_token`: not a valid one';
export const CONTROL_UNAVAILABLE = '`control_unavailable`: the control server did not answer in time';
