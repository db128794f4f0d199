export { type BuiltDomains, type DomainDeps, buildDomains } from "./domains.js";
export { type Gateway, startGateway } from "./gateway.js";
