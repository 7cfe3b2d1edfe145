/**
 * The Access contract (`proto/alloquy/control/v1/access.proto`), loaded at run time with
 * @grpc/proto-loader: no generated code to keep in step. The interfaces below mirror the .proto
 * as proto-loader presents messages with the options used here (field names as written,
 * 64-bit integers as numbers, enums as their names, oneofs with a virtual field naming the set
 * member); the integration tests hold the two together.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The repository's `proto/` folder. This module sits at `packages/access/{src,dist}/`, so three
 * levels up is the repository root both when tests run the sources and when the built services
 * run from `dist/`.
 */
export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const ACCESS_PROTO = 'alloquy/control/v1/access.proto';

/** Every 64-bit field of the contract holds byte counts, ids or Unix ms: all below 2^53. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: grpc.ServiceClientConstructor | undefined;

/** The Access service: `.service` for a server, `new (...)` for a client. Parsed once per process. */
export function accessService(): grpc.ServiceClientConstructor {
  if (!cached) {
    const definition = protoLoader.loadSync(ACCESS_PROTO, LOADER_OPTIONS);
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      alloquy: { control: { v1: { Access: grpc.ServiceClientConstructor } } };
    };
    cached = loaded.alloquy.control.v1.Access;
  }
  return cached;
}

/** Trailer key carrying the stable reason of a failed call (see the .proto). */
export const ERROR_REASON_KEY = 'alloquy-error';

export type ErrorReason = 'invalid_token' | 'account_disabled' | 'not_found' | 'invalid_request' | 'internal';

export type ChannelKindName = 'CHANNEL_KIND_UNSPECIFIED' | 'CHANNEL_KIND_TEXT' | 'CHANNEL_KIND_VOICE';

/** A channel reference as sent: a kind and exactly one of name or id. */
export type ChannelRef = { kind: ChannelKindName } & ({ name: string; id?: never } | { id: string; name?: never });

/** A channel reference as received (the virtual `ref` says which member is set, if any). */
export interface ReceivedChannelRef {
  kind: ChannelKindName | number;
  name?: string;
  id?: string;
  ref?: 'name' | 'id';
}

export interface ChannelInfo {
  id: string;
  name: string;
  kind: ChannelKindName;
  is_public: boolean;
  created_at_ms: number;
}

export interface IdentifyRequest {
  token: string;
}

export interface IdentifyResponse {
  account: string;
  account_id: number;
  member: boolean;
  admin: boolean;
}

export interface AuthorizeChannelRequest {
  token: string;
  channel: ChannelRef;
  permissions: string[];
}

export type CheckAccountRequest = ({ account: string; account_id?: never } | { account_id: number; account?: never }) & {
  channel: ChannelRef;
  permissions: string[];
};

export interface ChannelDecision {
  account: string;
  account_id: number;
  member: boolean;
  allowed: boolean;
  missing: string[];
  max_upload_bytes: number;
  channel: ChannelInfo;
}

export interface AuthorizeGuildRequest {
  token: string;
  permissions: string[];
}

export interface GuildDecision {
  account: string;
  account_id: number;
  member: boolean;
  allowed: boolean;
  missing: string[];
}

export interface GetChannelRequest {
  channel: ChannelRef;
}

export interface LookupAccountsRequest {
  accounts: string[];
}

export interface AccountInfo {
  account: string;
  account_id: number;
  member: boolean;
  disabled: boolean;
}

export interface LookupAccountsResponse {
  accounts: AccountInfo[];
}
