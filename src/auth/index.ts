export type { ApiKeyRecord } from "./api-keys.js";
export { createApiKey } from "./api-keys.js";
export { Auth, type LoginResult } from "./auth.js";
export { ensureAdmin, ensureJwtSecret } from "./bootstrap.js";
export type { Principal } from "./principal.js";
export { TokenSigner } from "./tokens.js";
export { createUser, findUserByName } from "./users.js";
