export { type Gateway, startGateway } from "./gateway.js";
