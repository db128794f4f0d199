export { type Keepalive, LiveStream, type LiveStreamOptions, type Overflow } from "./live-stream.js";
