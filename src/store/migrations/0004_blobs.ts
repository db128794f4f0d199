import { type Kysely, sql } from "kysely";

// Blobs referenced from messages, and who besides the owner may read them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("blobs")
    .addColumn("blob_id", "text", (c) => c.primaryKey())
    .addColumn("owner_account_id", "text", (c) => c.notNull().references("accounts.account_id").onDelete("cascade"))
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("size_bytes", "bigint", (c) => c.notNull())
    .addColumn("mime_type", "text", (c) => c.notNull())
    .addColumn("filename", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("data", "bytea", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("blobs_owner_idx").on("blobs").column("owner_account_id").execute();

  await db.schema
    .createTable("blob_grants")
    .addColumn("blob_id", "text", (c) => c.notNull().references("blobs.blob_id").onDelete("cascade"))
    .addColumn("account_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("blob_grants_pk", ["blob_id", "account_id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("blob_grants").execute();
  await db.schema.dropTable("blobs").execute();
}
