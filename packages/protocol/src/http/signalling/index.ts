/**
 * Wire shapes of the signalling service's HTTP API (the WebSocket's messages are in
 * `@alloquy/protocol/signalling`). Each schema has a type of the same name.
 */
export * from './turn-credentials.js';
