export * from './service-app.js';
export * from './route.js';
export * from './route-table.js';
export * from './openapi.js';
export * from './raw-route.js';
export * from './prepared-json.js';
