export * from './errors.js';
export * from './signalling-connection.js';
export * from './video-room.js';
export * from './stats.js';
