export { serveStatic, WEB_DIR, type ServeOptions, type StaticServer } from './static-server.js';
