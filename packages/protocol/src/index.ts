/**
 * @alloquy/protocol: the wire contracts Alloquy's servers and clients share. Browser-safe: no
 * Node built-ins and no I/O, so the web app, the desktop app, bots and every service use the
 * same parser, tag names, schemas and permission math.
 */
export * from './irc/index.js';
export * from './permissions/index.js';
export * from './signalling/index.js';
export * from './http/index.js';
export * from './names/index.js';
