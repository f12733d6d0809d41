// What the page knows about the job it shows, in one object that the browser tests read as
// `window.bpnet`, plus the one-line DOM lookup every script uses.

export const $ = (selector) => document.querySelector(selector);

// state, job id, the epoch numbers received, the last epoch event, the connection, and
// (sentConfig) the config the last Start sent
export const bpnet = { state: "idle", jobId: null, epochs: [], lastEpoch: null, connection: "connecting" };
window.bpnet = bpnet;

/** Jobs in these states can be paused, stopped and changed live. */
export const ACTIVE = new Set(["running", "paused"]);
