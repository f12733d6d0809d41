// The page's one Socket.IO connection and the request/acknowledgement exchange over it.
// WebSocket first, long-polling as the fallback; a request that gets no answer within
// ten seconds counts as refused, with a message that says so.

const ACK_TIMEOUT_MS = 10000;

export const socket = io({ transports: ["websocket", "polling"], tryAllTransports: true });

/** Send an event and wait for its acknowledgement; no answer counts as a refusal. */
export function request(event, payload) {
  const args = payload === undefined ? [] : [payload]; // status, pause, … carry no payload
  const silence = { ok: false, field: null, error: `No answer from the server to "${event}".` };
  return new Promise((resolve) => {
    const answer = (err, ack) => resolve(err || !ack ? silence : ack);
    socket.timeout(ACK_TIMEOUT_MS).emit(event, ...args, answer);
  });
}
