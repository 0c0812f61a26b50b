import { workerConfig } from './handlers/workerConfig';

// Loaded by the host with the functions (package.json `main`): invalid settings stop the app at start-up
// with every problem listed, instead of failing batch after batch. FUNCTIONS_NODE_BLOCK_ON_ENTRY_POINT_ERROR
// makes the host refuse to run rather than start without these functions.
workerConfig();
