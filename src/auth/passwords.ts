import { hash, verify } from "@node-rs/argon2";

// Argon2id (memory-hard) with the library's defaults (19 MiB, 2 passes), which follow OWASP's recommendation.
// The hash string carries its own parameters, so raising them later keeps old hashes verifiable.

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// Verifying against this when a user does not exist keeps the reply time the same for unknown users, so Login
// does not reveal which usernames exist.
let decoy: Promise<string> | undefined;
export async function verifyAgainstDecoy(password: string): Promise<void> {
  decoy ??= hash("agentnet-decoy-password");
  await verifyPassword(await decoy, password);
}
