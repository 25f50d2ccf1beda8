export { initEngine, type EngineInfo, type EngineOptions, type BackendName } from './backend.js';
